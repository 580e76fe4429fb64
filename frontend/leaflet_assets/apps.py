from pathlib import Path

import leaflet
from django.apps import AppConfig


class LeafletAssetsConfig(AppConfig):
    name = "frontend.leaflet_assets"
    label = "leaflet"
    verbose_name = "Leaflet maps"
    # Templates and static files are looked up under the real django-leaflet package.
    path = str(Path(leaflet.__file__).resolve().parent)

    def ready(self):
        # What leaflet.apps.LeafletConfig.ready does: resolve the plugin asset URLs.
        leaflet._normalize_plugins_config()
