#version 330
// Text/HUD overlay: an RGBA image drawn over the frame with its alpha.
uniform sampler2D u_color;
uniform sampler2D u_overlay;
in vec2 v_uv;
out vec4 f_color;
void main() {
    vec4 o = textureLod(u_overlay, v_uv, 0.0);
    f_color = vec4(mix(textureLod(u_color, v_uv, 0.0).rgb, o.rgb, o.a), 1.0);
}
