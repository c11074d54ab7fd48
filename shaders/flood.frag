#version 330
// Flood, pass 2 at full resolution: the exact water/geometry boundary per pixel with the half-resolution water
// shading inside it. CAMERA_UNDER (a #define): the camera itself is below the water level.
#include "common.glsl"
#include "flood_common.glsl"
uniform sampler2D u_water;  // pass 1: premultiplied water colour, alpha = coverage
in vec2 v_uv;
out vec4 f_color;

void main() {
    vec3 base = textureLod(u_color, v_uv, 0.0).rgb;
#if CAMERA_UNDER
    float t_scene = length(camera_point(v_uv));
    vec3 trans = exp(-u_absorption * t_scene);  // everything is seen through water
    f_color = vec4(mix(base * trans + u_water_color * (1.0 - trans), u_water_color, u_turbidity), 1.0);
#else
    // with the camera above the water, a visible point is seen through water exactly when it lies below the
    // surface: world height = camera height + depth * (world-y of the pixel's unit-z ray), no full transform
    float height = camera_origin_world().y + scene_depth(v_uv) * world_dir(unproject_uv(v_uv, 1.0)).y;
    vec4 w = textureLod(u_water, v_uv, 0.0);
    // at the boundary the half-resolution texel may be partly dry: fall back to plain tinted water
    vec3 water = w.a > 0.05 ? w.rgb / w.a : mix(base, u_water_color, 0.5 + 0.5 * u_turbidity);
    f_color = vec4(HAS_WORLD != 0 && height < u_level ? water : base, 1.0);
#endif
}
