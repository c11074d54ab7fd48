// Weight of a pixel in the background blur: background share (modes 0, 1, 3) or circle of confusion (mode 2).
// MODE is a #define: 0 blur, 1 replace, 2 dof, 3 colour.
uniform float u_focus;         // metres
uniform float u_focus_range;   // metres
uniform float u_threshold;     // 0: the soft mask as it is; else person where the mask passes it
uniform float u_feather;       // half-width of the soft edge around the threshold

// The person's share given the mask's value: the model's mask, or a threshold with a feathered edge (OBS's
// controls).
float person_of(float m) {
    return u_threshold > 0.0 ? smoothstep(u_threshold - u_feather, u_threshold + u_feather, m) : m;
}

// How much of the blur a pixel takes, given its mask value.
float blur_amount_of(vec2 uv, float mask) {
#if MODE == 2
    // weighted by the mask too: model depth is soft at a person's outline, and without it the shoulders'
    // colour would be averaged into the background around them (with no person in view the mask is 0)
    float z = scene_depth(uv);
    float coc = clamp((abs(z - u_focus) - u_focus_range) / u_focus_range, 0.0, 1.0);
    return coc * (1.0 - person_of(mask));
#else
    return 1.0 - person_of(mask);
#endif
}

float blur_amount(vec2 uv) { return blur_amount_of(uv, textureLod(u_mask, uv, 0.0).r); }
