#version 330
uniform sampler2D u_color;
in vec2 v_uv;
out vec4 f_color;
void main() { f_color = vec4(textureLod(u_color, v_uv, 0.0).rgb, 1.0); }
