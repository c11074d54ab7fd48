#version 330
#include "common.glsl"
#include "noise.glsl"
uniform vec3 u_fog_color;
uniform float u_density;
uniform float u_height_density;
uniform float u_height_falloff;
uniform float u_noise;
uniform float u_noise_scale;
uniform vec3 u_wind;
in vec2 v_uv;
out vec4 f_color;

void main() {
    vec3 base = textureLod(u_color, v_uv, 0.0).rgb;
    vec3 p_c = camera_point(v_uv);
    float dist = length(p_c);
    float optical = u_density * dist;
#if HAS_WORLD
    {
        vec3 cam_w = camera_origin_world();
        vec3 p_w = to_world(p_c);
        // closed-form integral of h * exp(-y / f) along the straight ray from camera to point
        float y0 = cam_w.y, y1 = p_w.y, f = u_height_falloff;
        float dy = y1 - y0;
        float mean_density = abs(dy) < 1e-3 ? exp(-y0 / f) : f * (exp(-y0 / f) - exp(-y1 / f)) / dy;
        optical += u_height_density * dist * mean_density;
        // world-anchored drifting noise, sampled where the ray is most of the way to the surface (one
        // sample: the noise is smooth at room scale, and each 3D fetch is costly on a software rasteriser)
        float n = fbm(mix(cam_w, p_w, 0.6) * u_noise_scale - u_wind * u_time);
        optical *= mix(1.0, 2.0 * n, u_noise);
    }
#endif
    float fog = 1.0 - exp(-max(optical, 0.0));
    f_color = vec4(mix(base, u_fog_color, fog), 1.0);
}
