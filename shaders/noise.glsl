// Noise shared by the scene generator and the effects. Value noise comes from a tiling 64^3 two-channel texture of random
// values (trilinear filtering does the interpolation), fetched with an explicit LOD: on a software rasteriser
// that is far cheaper than hashing eight lattice corners, and than letting it derive a LOD per pixel.
uniform sampler3D u_noise3d;

float value_noise(vec3 p) { return textureLod(u_noise3d, p * (1.0 / 64.0), 0.0).r; }

// two independent noises from one fetch (the texture has two channels)
vec2 value_noise2(vec3 p) { return textureLod(u_noise3d, p * (1.0 / 64.0), 0.0).rg; }

float fbm(vec3 p) {
    return 0.65 * value_noise(p) + 0.35 * value_noise(p * 2.03 + vec3(1.7, 9.2, 3.1));
}
