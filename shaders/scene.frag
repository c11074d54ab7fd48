#version 330
#include "noise.glsl"
uniform vec3 u_light_pos[2];
uniform vec3 u_light_color[2];
uniform vec3 u_ambient;
uniform vec3 u_eye;
uniform sampler2DArray u_photos;
in vec3 v_world;
in vec3 v_normal;
in vec2 v_uv;
in vec3 v_color_a;
in vec3 v_color_b;
in vec4 v_material;
in float v_depth;
layout(location = 0) out vec4 out_color;
layout(location = 1) out float out_depth;
layout(location = 2) out float out_person;

vec3 albedo() {
    int pattern = int(v_material.x + 0.5);
    float s = v_material.y;
    vec2 uv = v_uv * s;
    float n = fbm(v_world * 7.0);
    if (pattern == 1) {          // checker
        float c = mod(floor(uv.x) + floor(uv.y), 2.0);
        return mix(v_color_a, v_color_b, c) * (0.9 + 0.2 * n);
    } else if (pattern == 2) {   // planks
        float row = floor(uv.y);
        float grain = fbm(vec3(uv.x * 0.6 + row * 13.1, uv.y * 12.0, row));
        float seam = smoothstep(0.0, 0.04, fract(uv.y)) * smoothstep(0.0, 0.02, fract(uv.x * 0.25 + row * 0.37));
        return mix(v_color_a, v_color_b, grain) * (0.55 + 0.45 * seam);
    } else if (pattern == 3) {   // tiles with grout
        vec2 f = fract(uv);
        float grout = smoothstep(0.0, 0.05, f.x) * smoothstep(0.0, 0.05, f.y);
        return mix(v_color_b, v_color_a * (0.85 + 0.3 * value_noise(floor(vec3(uv, 1.0)) + 0.5)), grout);
    } else if (pattern == 4) {   // photograph (posters, rugs, screens)
        return texture(u_photos, vec3(fract(v_uv), v_material.z)).rgb;
    }
    return mix(v_color_a, v_color_b, n);  // plaster / fabric
}

void main() {
    vec3 n = normalize(v_normal);
    vec3 base = albedo();
    vec3 light = u_ambient;
    for (int i = 0; i < 2; ++i) {
        vec3 to_light = u_light_pos[i] - v_world;
        float dist2 = dot(to_light, to_light);
        vec3 l = to_light * inversesqrt(dist2);
        float diffuse = max(dot(n, l), 0.0);
        vec3 h = normalize(l + normalize(u_eye - v_world));
        float spec = pow(max(dot(n, h), 0.0), 32.0) * 0.15;
        light += u_light_color[i] * (diffuse + spec) / (1.0 + 0.15 * dist2);
    }
    // soft darkening toward the floor and room corners, a cheap stand-in for ambient occlusion
    light *= mix(0.75, 1.0, smoothstep(0.0, 0.35, v_world.y + 0.02 * (1.0 - abs(n.y))));
    out_color = vec4(pow(clamp(base * light, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
    out_depth = v_depth;
    out_person = v_material.w;
}
