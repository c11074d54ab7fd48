#version 330
// Flood, pass 1b at half resolution, run only where the water plane is visible: the shading of the water
// surface (ripples, refraction, absorption, caustics, Fresnel and screen-space reflection, foam).
#include "common.glsl"
#include "noise.glsl"
#include "flood_common.glsl"
uniform vec2 u_target_size;  // this pass's resolution
out vec4 f_color;

vec3 ripple_normal(vec2 p) {
    // slope of three travelling sine waves (analytic) plus a noise-driven chop
    const vec2 k1 = vec2(6.0, 2.0), k2 = vec2(-3.0, 7.5), k3 = vec2(11.0, -9.0);
    float t = u_time;
    vec2 g = 0.5 * k1 * cos(dot(p, k1) + 1.7 * t) + 0.3 * k2 * cos(dot(p, k2) + 2.3 * t)
           + 0.2 * k3 * cos(dot(p, k3) + 3.1 * t);
    g += 6.0 * value_noise2(vec3(p * 4.0, 0.6 * t)) - 3.0;
    return normalize(vec3(-g.x * 0.02 * u_ripple, 1.0, -g.y * 0.02 * u_ripple));
}

float caustic_pattern(vec2 p) {  // bright net of lines where either of two moving noises crosses its middle
    vec2 ab = abs(value_noise2(vec3(p * 6.0 + 3.1, u_time * 0.9)) - 0.5);
    return pow(1.0 - 2.0 * min(ab.x, ab.y), 6.0);
}

vec3 reflected_color(vec3 start_w, vec3 dir_w, vec3 fallback) {
    // march the reflected ray in camera space (one transform, then additions); accept the first sample
    // that passes just behind the visible scene
    vec3 start_c = to_camera(start_w);
    vec3 dir_c = mat3(u_world_to_cam) * dir_w;
    float t = 0.05;
    for (int i = 0; i < 8; ++i) {
        vec3 p_c = start_c + dir_c * t;
        if (p_c.z <= 0.05) break;
        vec2 uv = project_uv(p_c);
        if (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0)))) break;
        float z = scene_depth(uv);
        if (p_c.z > z && p_c.z < z + 0.25 + 0.1 * t) return textureLod(u_color, uv, 0.0).rgb;
        t *= 1.65;  // 8 steps reach 2.8 m
    }
    return fallback;
}

void main() {
    vec2 v_uv = gl_FragCoord.xy / u_target_size;
    WaterHit h = water_hit(v_uv);
    vec3 s_w = h.cam_w + h.ray * h.t_surf;
    vec3 n = ripple_normal(s_w.xz);
    float thickness = h.t_scene - h.t_surf;

    // refraction: shift the lookup along the ripple slope, only onto points that are under water too
    vec2 r_uv = v_uv + n.xz * u_refraction * min(thickness, 2.0) * vec2(1.0, -u_resolution.x / u_resolution.y);
    vec3 r_w = to_world(camera_point(r_uv));
    if (any(lessThan(r_uv, vec2(0.0))) || any(greaterThan(r_uv, vec2(1.0))) || r_w.y > u_level) {
        r_uv = v_uv;
        r_w = h.p_w;
    }
    vec3 under = textureLod(u_color, r_uv, 0.0).rgb;
    float depth_below = max(u_level - r_w.y, 0.0);
    under *= 1.0 + u_caustics * caustic_pattern(r_w.xz) * exp(-1.2 * depth_below);
    vec3 trans = exp(-u_absorption * (thickness + depth_below));
    vec3 refracted = mix(under * trans + u_water_color * (1.0 - trans), u_water_color, u_turbidity);

    vec3 sky = mix(u_water_color * 1.6, vec3(0.75, 0.8, 0.85), 0.5);
    vec3 reflected = reflected_color(s_w, reflect(h.ray, n), sky);
    float fresnel = 0.02 + 0.98 * pow(1.0 - clamp(dot(-h.ray, n), 0.0, 1.0), 5.0);
    vec3 col = mix(refracted, reflected, fresnel);
    // foam where the water meets geometry: the submerged point is just below the surface
    float near_line = 1.0 - smoothstep(0.0, u_foam_width, u_level - h.p_w.y);
    float foam = near_line * smoothstep(0.35, 0.65, fbm(vec3(s_w.xz * 9.0, u_time * 0.7)));
    f_color = vec4(mix(col, vec3(0.92, 0.95, 0.97), 0.85 * foam), 1.0);
}
