// Weight of a pixel in the background blur: background share (mask modes) or circle of confusion (dof).
uniform int u_mode;            // 0 blur, 1 replace, 2 dof
uniform float u_focus;         // metres
uniform float u_focus_range;   // metres

float blur_amount(vec2 uv) {
    if (u_mode == 2) {
        float z = scene_depth(uv);
        return clamp((abs(z - u_focus) - u_focus_range) / u_focus_range, 0.0, 1.0);
    }
    return 1.0 - texture(u_mask, uv).r;
}
