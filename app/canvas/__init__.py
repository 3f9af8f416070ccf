"""The canvas: a QGraphicsView with zoom and pan, the layer items, the painting tools and their undo commands."""
