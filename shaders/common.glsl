// Shared by every effect: the per-frame textures and camera uniforms, unprojection, world transform, projection.
// Textures follow image convention: texel row 0 is the top image row (v = 0 at the top).
// HAS_WORLD (a #define, 0 until a floor has been found) says whether the world transforms mean anything.
#ifndef HAS_WORLD
#define HAS_WORLD 1
#endif
uniform sampler2D u_color;        // input colour: the camera image or the previous effect's output
uniform sampler2D u_image;        // the camera image
uniform sampler2D u_depth;        // metres along the optical axis, 0 = unknown
uniform sampler2D u_mask;         // person mask in [0, 1]
uniform vec4 u_intrinsics;        // fx, fy, cx, cy (pixels, OpenCV convention)
uniform vec2 u_resolution;        // width, height in pixels
uniform mat4 u_cam_to_world;      // OpenCV camera -> world (y up, floor at y = 0)
uniform mat4 u_world_to_cam;
uniform float u_time;             // seconds
uniform float u_far;              // depth used where depth is unknown (sky, holes)

float scene_depth(vec2 uv) {
    float z = textureLod(u_depth, uv, 0.0).r;
    return z > 0.0 ? z : u_far;
}

vec3 unproject_uv(vec2 uv, float z) {   // camera-frame point of the pixel at uv with depth z
    vec2 px = uv * u_resolution - 0.5;
    return vec3((px - u_intrinsics.zw) / u_intrinsics.xy * z, z);
}

vec3 camera_point(vec2 uv) { return unproject_uv(uv, scene_depth(uv)); }

vec3 to_world(vec3 p_cam) { return (u_cam_to_world * vec4(p_cam, 1.0)).xyz; }
vec3 to_camera(vec3 p_world) { return (u_world_to_cam * vec4(p_world, 1.0)).xyz; }
vec3 world_dir(vec3 d_cam) { return mat3(u_cam_to_world) * d_cam; }
vec3 camera_origin_world() { return u_cam_to_world[3].xyz; }

vec2 project_uv(vec3 p_cam) {           // camera-frame point -> uv (image convention)
    vec2 px = p_cam.xy / p_cam.z * u_intrinsics.xy + u_intrinsics.zw;
    return (px + 0.5) / u_resolution;
}

vec3 view_ray_world(vec2 uv) { return normalize(world_dir(unproject_uv(uv, 1.0))); }

vec3 camera_normal(vec2 uv) {           // surface normal from depth, facing the camera
    vec2 texel = 1.0 / u_resolution;
    vec3 p = camera_point(uv);
    vec3 dx = camera_point(uv + vec2(texel.x, 0.0)) - p;
    vec3 dx2 = p - camera_point(uv - vec2(texel.x, 0.0));
    vec3 dy = camera_point(uv + vec2(0.0, texel.y)) - p;
    vec3 dy2 = p - camera_point(uv - vec2(0.0, texel.y));
    // the shorter difference on each axis avoids smearing normals across depth edges
    vec3 n = normalize(cross(dot(dx, dx) < dot(dx2, dx2) ? dx : dx2, dot(dy, dy) < dot(dy2, dy2) ? dy : dy2));
    return dot(n, p) > 0.0 ? -n : n;
}
