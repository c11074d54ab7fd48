#version 330
#include "common.glsl"
#include "blur_common.glsl"
uniform sampler2D u_blurred;     // normalised blur numerator (rgb) and denominator (a)
uniform sampler2D u_background;  // replacement image (mode 1)
uniform float u_bg_aspect;       // background aspect / frame aspect, for a cover fit
in vec2 v_uv;
out vec4 f_color;
void main() {
    vec3 sharp = texture(u_color, v_uv).rgb;
    if (u_mode == 1) {
        vec2 uv = v_uv - 0.5;
        uv = u_bg_aspect > 1.0 ? vec2(uv.x / u_bg_aspect, uv.y) : vec2(uv.x, uv.y * u_bg_aspect);
        vec3 bg = texture(u_background, uv + 0.5).rgb;
        f_color = vec4(mix(bg, sharp, texture(u_mask, v_uv).r), 1.0);
        return;
    }
    vec4 b = texture(u_blurred, v_uv);
    vec3 bg = b.a > 1e-4 ? b.rgb / b.a : sharp;   // deep inside the person there is no background to show
    float amount = blur_amount(v_uv);
    f_color = vec4(mix(sharp, bg, amount), 1.0);
}
