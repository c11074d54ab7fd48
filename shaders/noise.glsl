// Noise shared by the scene generator and the effects. Value noise comes from a tiling 64^3 texture of random
// values (trilinear filtering does the interpolation): on a software rasteriser one fetch is far cheaper than
// hashing eight lattice corners per call.
uniform sampler3D u_noise3d;

float value_noise(vec3 p) { return texture(u_noise3d, p * (1.0 / 64.0)).r; }

float fbm(vec3 p) {
    return 0.55 * value_noise(p) + 0.3 * value_noise(p * 2.03 + vec3(1.7, 9.2, 3.1))
         + 0.15 * value_noise(p * 4.01 + vec3(5.3, 2.8, 7.7));
}
