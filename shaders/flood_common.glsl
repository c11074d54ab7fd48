// Shared by the two flood passes: where the view ray meets the water plane y = u_level.
uniform float u_level;
uniform vec3 u_water_color;
uniform vec3 u_absorption;
uniform float u_turbidity;
uniform float u_ripple;
uniform float u_refraction;
uniform float u_foam_width;
uniform float u_caustics;

struct WaterHit {
    bool water;        // the ray meets the surface before the scene point
    bool camera_under; // the camera itself is under water
    vec3 cam_w;        // camera position (world)
    vec3 p_w;          // scene point (world)
    vec3 ray;          // unit view ray (world)
    float t_surf;      // distance to the water surface along the ray
    float t_scene;     // distance to the scene point
};

WaterHit water_hit(vec2 uv) {
    WaterHit h;
    h.cam_w = camera_origin_world();
    h.p_w = to_world(camera_point(uv));
    vec3 to_p = h.p_w - h.cam_w;
    h.t_scene = length(to_p);
    h.ray = to_p / h.t_scene;
    h.camera_under = h.cam_w.y < u_level;
    h.t_surf = h.ray.y < 0.0 ? (u_level - h.cam_w.y) / h.ray.y : 1e9;
    h.water = HAS_WORLD != 0 && !h.camera_under && h.t_surf < h.t_scene;
    return h;
}
