#version 330
#include "common.glsl"
uniform sampler2D u_sticker;
uniform float u_tolerance;
in vec2 v_tex;
in float v_z;
out vec4 f_color;
void main() {
    vec2 uv = gl_FragCoord.xy / u_resolution;
    float z = texture(u_depth, uv).r;
    // hidden behind nearer geometry (with slack for the surface the sticker lies on)
    if (z > 0.0 && v_z > z * 1.02 + u_tolerance) discard;
    vec4 s = texture(u_sticker, v_tex);
    if (s.a < 0.01) discard;
    f_color = s;
}
