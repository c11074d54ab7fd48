// Noise shared by the scene generator and the effects. Value noise comes from a tiling 256^2 texture of random
// values (bilinear filtering does the interpolation). A 3D point is sheared onto the plane (y slides the
// lookup diagonally), which keeps the field a function of world position at the price of one 2D fetch:
// on a software rasteriser a 3D trilinear fetch costs four times as much, and hashing eight corners more.
uniform sampler2D u_noise2d;

float value_noise(vec3 p) { return textureLod(u_noise2d, (p.xz + p.y * vec2(17.31, 11.73)) * (1.0 / 256.0), 0.0).r; }

float fbm(vec3 p) {
    return 0.65 * value_noise(p) + 0.35 * value_noise(p * 2.03 + vec3(1.7, 9.2, 3.1));
}
