#version 330
#include "common.glsl"
#include "blur_common.glsl"
uniform sampler2D u_blurred;     // normalised blur numerator (rgb) and denominator (a)
uniform sampler2D u_background;  // replacement image (mode 1)
uniform float u_bg_aspect;       // background aspect / frame aspect, for a cover fit
uniform vec3 u_bg_color;         // flat background (mode 3)
in vec2 v_uv;
out vec4 f_color;
void main() {
    // the frame's own texel, fetched unfiltered: full-size textures need no filtering here, and on a CPU
    // rasteriser (llvmpipe) bilinear fetches are a third of this full-resolution pass
    ivec2 px = ivec2(gl_FragCoord.xy);
    vec3 sharp = texelFetch(u_color, px, 0).rgb;
    float mask = texelFetch(u_mask, px, 0).r;
#if MODE == 1
    vec2 uv = v_uv - 0.5;
    uv = u_bg_aspect > 1.0 ? vec2(uv.x / u_bg_aspect, uv.y) : vec2(uv.x, uv.y * u_bg_aspect);
    vec3 bg = textureLod(u_background, uv + 0.5, 0.0).rgb;
    f_color = vec4(mix(bg, sharp, person_of(mask)), 1.0);
#elif MODE == 3
    f_color = vec4(mix(u_bg_color, sharp, person_of(mask)), 1.0);
#else
    vec4 b = textureLod(u_blurred, v_uv, 0.0);
    vec3 bg = b.a > 1e-4 ? b.rgb / b.a : sharp;   // deep inside the person there is no background to show
    f_color = vec4(mix(sharp, bg, blur_amount_of(v_uv, mask)), 1.0);
#endif
}
