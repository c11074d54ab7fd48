// Noise shared by the scene generator and the effects: 3D value noise from one bilinear 2D fetch. A tiling
// 256^2 RGBA texture holds two noises; in each, channel 2 is channel 1 shifted by (37, 17) texels, so one fetch
// gives both y-layers around p.y and a mix makes the field smooth in y too (no streaks on walls). On a software
// rasteriser this is far cheaper than a trilinear 3D fetch or hashing eight lattice corners.
uniform sampler2D u_noise2d;

vec4 noise_layers(vec3 p) {
    float y = floor(p.y);
    return textureLod(u_noise2d, (p.xz + y * vec2(37.0, 17.0) + 0.5) * (1.0 / 256.0), 0.0);
}

float value_noise(vec3 p) {
    vec4 t = noise_layers(p);
    float f = fract(p.y);
    return mix(t.r, t.g, f * f * (3.0 - 2.0 * f));
}

// two independent noises from one fetch
vec2 value_noise2(vec3 p) {
    vec4 t = noise_layers(p);
    float f = fract(p.y);
    return mix(t.rb, t.ga, f * f * (3.0 - 2.0 * f));
}

float fbm(vec3 p) {
    return 0.65 * value_noise(p) + 0.35 * value_noise(p * 2.03 + vec3(1.7, 9.2, 3.1));
}
