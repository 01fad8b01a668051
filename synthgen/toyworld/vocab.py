"""Word vocabularies and label ids of the toy world.

Every attribute the renderer draws is one of the words below, so prompts,
captions (DLCR) and recolouring tools can parse and build text from the same
lists. Index ``i`` of a list is the integer code the renderer uses internally;
FineGPR codes are ``index + 1`` (``w01`` = ``WEATHERS[0]``).
"""
from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- colours
#: Colour words with their nominal sRGB value (0-255).
COLORS = {
    'black': (28, 28, 30),
    'white': (235, 235, 230),
    'gray': (128, 128, 128),
    'red': (200, 30, 35),
    'orange': (235, 120, 25),
    'yellow': (235, 210, 40),
    'green': (40, 150, 60),
    'blue': (35, 75, 200),
    'navy': (25, 35, 90),
    'purple': (120, 50, 150),
    'pink': (235, 130, 170),
    'brown': (110, 70, 40),
    'beige': (205, 185, 145),
}
COLOR_NAMES = list(COLORS)
COLOR_RGB = np.array([COLORS[c] for c in COLOR_NAMES], np.float32) / 255.0

#: Garment words a recolouring prompt may name, mapped to the mask label.
GARMENT_WORDS = {
    'shirt': 3, 't-shirt': 3, 'top': 3, 'jacket': 3, 'coat': 3, 'sweater': 3,
    'upper': 3, 'trousers': 4, 'pants': 4, 'jeans': 4, 'shorts': 4,
    'skirt': 4, 'lower': 4, 'shoes': 5, 'bag': 6, 'backpack': 6, 'hat': 6,
}

# ---------------------------------------------------------------- persons
UPPER_PATTERNS = ['plain', 'stripes', 'checks', 'logo']
SLEEVES = ['long', 'short', 'sleeveless']
LOWER_TYPES = ['trousers', 'shorts', 'skirt']
#: Garment materials; they set the garment temperature in infrared renders.
MATERIALS = ['cotton', 'denim', 'wool', 'synthetic', 'leather']
MATERIAL_HEAT = np.array([0.62, 0.52, 0.45, 0.70, 0.38], np.float32)
HAIR_STYLES = ['short', 'long', 'ponytail', 'bun', 'curly', 'bald']
HAIR_COLORS = {
    'black': (25, 22, 22), 'brown': (85, 55, 35), 'blond': (200, 165, 95),
    'gray': (150, 150, 150), 'red': (140, 55, 30),
}
HAIR_COLOR_NAMES = list(HAIR_COLORS)
HAIR_RGB = np.array([HAIR_COLORS[c] for c in HAIR_COLOR_NAMES], np.float32) / 255.0
SKIN_TONES = {
    'light': (240, 205, 180), 'fair': (225, 180, 150), 'medium': (195, 145, 110),
    'tan': (160, 110, 75), 'dark': (105, 70, 50),
}
SKIN_TONE_NAMES = list(SKIN_TONES)
SKIN_RGB = np.array([SKIN_TONES[c] for c in SKIN_TONE_NAMES], np.float32) / 255.0
BAGS = ['none', 'backpack', 'shoulder_bag', 'handbag']
BUILDS = ['slim', 'average', 'broad']
FACE_MARKS = ['none', 'glasses', 'beard', 'glasses_beard']
#: Viewpoint words for persons; the renderer uses a continuous angle
#: (0 = facing the camera, 90 = facing image-left, 180 = back, 270 = right).
PERSON_VIEWPOINTS = ['front', 'left', 'back', 'right']

# ---------------------------------------------------------------- scenes
#: FineGPR's seven weathers first (w01-w07), then rain (toy-only).
WEATHERS = ['sunny', 'clouds', 'overcast', 'foggy', 'neutral', 'blizzard',
            'snowlight', 'rain']
#: Seven times of day / light sources (FineGPR l01-l07).
ILLUMINATIONS = ['dawn', 'morning', 'noon', 'afternoon', 'dusk', 'night',
                 'indoor']
#: Nine person scenes (FineGPR p01-p09).
PERSON_SCENES = ['sidewalk', 'campus', 'park', 'plaza', 'corridor', 'station',
                 'shopfront', 'stairs', 'parking']
VEHICLE_SCENES = ['road', 'intersection', 'highway', 'parking_lot', 'bridge']
MODALITIES = ['visible', 'infrared']

# ---------------------------------------------------------------- vehicles
VEHICLE_TYPES = ['sedan', 'suv', 'hatchback', 'van', 'pickup', 'bus', 'truck']
VEHICLE_COLORS = {
    'white': (230, 230, 228), 'black': (30, 30, 34), 'gray': (110, 112, 116),
    'silver': (175, 178, 182), 'red': (180, 25, 30), 'blue': (30, 60, 160),
    'yellow': (230, 195, 40), 'green': (35, 110, 55), 'brown': (100, 65, 40),
    'orange': (225, 110, 30), 'golden': (190, 155, 80),
}
VEHICLE_COLOR_NAMES = list(VEHICLE_COLORS)
VEHICLE_RGB = np.array([VEHICLE_COLORS[c] for c in VEHICLE_COLOR_NAMES],
                       np.float32) / 255.0
VEHICLE_BRANDS = ['aurel', 'bexa', 'corvin', 'dalto', 'elmo', 'fenix']
#: Production-year eras change light shapes and bumper style.
VEHICLE_ERAS = ['classic', 'modern', 'recent']
VEHICLE_VIEWPOINTS = ['front', 'rear', 'side', 'oblique']
VEHICLE_MARKS = ['windshield_sticker', 'rear_sticker', 'side_decal',
                 'roof_rack', 'dent', 'bumper_sticker']

# ---------------------------------------------------------------- labels
LABELS = {
    'background': 0, 'skin': 1, 'hair': 2, 'upper': 3, 'lower': 4, 'shoes': 5,
    'accessory': 6, 'vehicle_body': 10, 'vehicle_windows': 11,
    'vehicle_lights': 12, 'vehicle_marks': 13,
}
PERSON_LABELS = (0, 1, 2, 3, 4, 5, 6)
VEHICLE_LABELS = (0, 10, 11, 12, 13)


def lookup(vocab, value, key):
    """Index of ``value`` in ``vocab`` (list or dict keys), or a clear error."""
    names = list(vocab)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if 0 <= int(value) < len(names):
            return int(value)
    elif value in names:
        return names.index(value)
    raise ValueError(f'attribute {key!r}: unknown value {value!r}; expected one '
                     f'of {names}')
