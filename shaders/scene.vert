#version 330
// Synthetic room: world-space triangles with baked per-vertex material.
uniform mat4 u_view;        // world -> OpenCV camera
uniform mat4 u_projection;  // OpenCV camera -> clip
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_color_a;
in vec3 in_color_b;
in vec4 in_material;        // pattern, pattern scale (1/m), texture layer, is-person
out vec3 v_world;
out vec3 v_normal;
out vec2 v_uv;
out vec3 v_color_a;
out vec3 v_color_b;
out vec4 v_material;
out float v_depth;
void main() {
    vec4 cam = u_view * vec4(in_position, 1.0);
    v_world = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    v_color_a = in_color_a;
    v_color_b = in_color_b;
    v_material = in_material;
    v_depth = cam.z;
    gl_Position = u_projection * cam;
}
