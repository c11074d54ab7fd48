#version 330
// Flood, pass 1b: the water plane y = u_level as real geometry, depth-tested against the scene.
#include "common.glsl"
uniform mat4 u_projection;  // OpenCV camera -> clip, image convention
in vec3 in_world;
void main() {
    gl_Position = u_projection * vec4(to_camera(in_world), 1.0);
}
