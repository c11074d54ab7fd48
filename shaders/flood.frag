#version 330
// Flood, pass 2 at full resolution: the exact water/geometry boundary per pixel, the half-resolution water
// shading inside it, foam along the waterline, and the camera-under-water case.
#include "common.glsl"
#include "noise.glsl"
#include "flood_common.glsl"
uniform sampler2D u_water;  // pass 1: premultiplied water colour, alpha = coverage
in vec2 v_uv;
out vec4 f_color;

void main() {
    vec3 base = texture(u_color, v_uv).rgb;
    WaterHit h = water_hit(v_uv);
    if (u_has_world && h.camera_under) {  // everything is seen through water
        vec3 trans = exp(-u_absorption * h.t_scene);
        f_color = vec4(mix(base * trans + u_water_color * (1.0 - trans), u_water_color, u_turbidity), 1.0);
        return;
    }
    if (!h.water) { f_color = vec4(base, 1.0); return; }
    vec4 w = texture(u_water, v_uv);
    // at the boundary the half-resolution texel may be partly dry: fall back to plain tinted water
    vec3 col = w.a > 0.05 ? w.rgb / w.a : mix(base, u_water_color, 0.5 + 0.5 * u_turbidity);
    // foam where the water meets geometry: the submerged point is just below the surface
    float near_line = 1.0 - smoothstep(0.0, u_foam_width, u_level - h.p_w.y);
    if (near_line > 0.0) {
        vec3 s_w = h.cam_w + h.ray * h.t_surf;
        float foam = near_line * smoothstep(0.35, 0.65, fbm(vec3(s_w.xz * 9.0, u_time * 0.7)));
        col = mix(col, vec3(0.92, 0.95, 0.97), 0.85 * foam);
    }
    f_color = vec4(col, 1.0);
}
