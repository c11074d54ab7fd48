#version 330
uniform sampler2D u_color;
in vec2 v_uv;
out vec4 f_color;
void main() { f_color = vec4(texture(u_color, v_uv).rgb, 1.0); }
