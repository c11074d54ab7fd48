#version 330
// Half-resolution premultiplied input of the normalised blur: (colour * w, w).
#include "common.glsl"
#include "blur_common.glsl"
in vec2 v_uv;
out vec4 f_color;
void main() {
    float w = blur_amount(v_uv);
    w = w * w;  // soft mask edges contribute little: no person colour leaks into the background
    f_color = vec4(textureLod(u_color, v_uv, 0.0).rgb * w, w);
}
