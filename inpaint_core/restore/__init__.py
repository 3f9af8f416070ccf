"""Old-photo restoration and provenance (Qt-free).

- `scratches`: propose a mask of thin scratches, creases and dust specks (classical morphology).
- `synthetic`: seeded synthetic degradations and textures, for the scratch benchmark and the tests.
- `tone`: keep grey and toned (sepia, cyanotype) photos in their own tone after a fill.
- `reuse`: the source-reuse heat map (how much each area of the photo was borrowed by the fills).
- `provenance`: the record of the fills made, the sidecar writer and the note embedded in saved files.
"""
