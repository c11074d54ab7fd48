#version 330
// The room as an old photograph, fading toward paper with distance; the person keeps their colour.
#include "common.glsl"
uniform float u_strength;       // 0..1
uniform float u_fade_distance;  // metres to half-faded
uniform float u_keep_person;    // 1: the mask's person stays in colour
in vec2 v_uv;
out vec4 f_color;
void main() {
    vec3 c = textureLod(u_color, v_uv, 0.0).rgb;
    float grey = dot(c, vec3(0.299, 0.587, 0.114));
    vec3 sepia = grey * vec3(1.07, 0.84, 0.62);
    float fade = scene_depth(v_uv) / (scene_depth(v_uv) + u_fade_distance);
    sepia = mix(sepia, vec3(0.93, 0.88, 0.78), 0.6 * fade);
    float keep = u_keep_person * textureLod(u_mask, v_uv, 0.0).r;
    f_color = vec4(mix(c, sepia, u_strength * (1.0 - keep)), 1.0);
}
