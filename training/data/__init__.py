"""Reading the imagery, splitting scenes into train/val/test regions, and crop datasets."""
