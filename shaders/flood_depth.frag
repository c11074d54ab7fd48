#version 330
// Flood, pass 1a: the scene's depth into the depth buffer, so the water plane drawn next is shaded only where
// it is in front of the scene (llvmpipe shades every pixel a fullscreen pass touches, water or not).
#include "common.glsl"
uniform vec2 u_depth_ab;  // A, B of the projection: z_ndc = A + B / z
in vec2 v_uv;
void main() {
    float z = scene_depth(v_uv);
    gl_FragDepth = 0.5 * (u_depth_ab.x + u_depth_ab.y / z) + 0.5;
}
