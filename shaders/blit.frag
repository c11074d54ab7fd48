#version 330
// Final copy to a window: flips image convention (row 0 = top) to OpenGL's (row 0 = bottom).
uniform sampler2D u_source;
in vec2 v_uv;
out vec4 f_color;
void main() { f_color = vec4(textureLod(u_source, vec2(v_uv.x, 1.0 - v_uv.y), 0.0).rgb, 1.0); }
