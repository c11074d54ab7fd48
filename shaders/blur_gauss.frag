#version 330
// One direction of a 9-tap Gaussian over premultiplied (rgb * w, w) texels.
uniform sampler2D u_source;
uniform vec2 u_direction;  // uv offset between taps
in vec2 v_uv;
out vec4 f_color;
void main() {
    vec4 sum = vec4(0.0);
    float total = 0.0;
    for (int i = -4; i <= 4; ++i) {
        float k = exp(-float(i * i) / 8.0);
        sum += k * textureLod(u_source, v_uv + float(i) * u_direction, 0.0);
        total += k;
    }
    f_color = sum / total;
}
