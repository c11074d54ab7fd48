#version 330
#include "common.glsl"
uniform mat4 u_projection;   // OpenCV camera -> clip, image convention
in vec3 in_world;
in vec2 in_uv;
out vec2 v_tex;
out float v_z;
void main() {
    vec3 p_c = to_camera(in_world);
    v_tex = in_uv;
    v_z = p_c.z;
    gl_Position = u_projection * vec4(p_c, 1.0);
}
