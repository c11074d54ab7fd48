// Weight of a pixel in the background blur: background share (modes 0, 1) or circle of confusion (mode 2).
// MODE is a #define: 0 blur, 1 replace, 2 dof.
uniform float u_focus;         // metres
uniform float u_focus_range;   // metres

float blur_amount(vec2 uv) {
#if MODE == 2
    // weighted by the mask too: model depth is soft at a person's outline, and without it the shoulders'
    // colour would be averaged into the background around them (with no person in view the mask is 0)
    float z = scene_depth(uv);
    float coc = clamp((abs(z - u_focus) - u_focus_range) / u_focus_range, 0.0, 1.0);
    return coc * (1.0 - textureLod(u_mask, uv, 0.0).r);
#else
    return 1.0 - textureLod(u_mask, uv, 0.0).r;
#endif
}
