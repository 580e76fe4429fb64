"""django-leaflet's templates, template tags and static files, without its GeoDjango admin.

Listing "leaflet" itself in INSTALLED_APPS makes the admin's autodiscovery import
`leaflet.admin`, which imports django.contrib.gis and so needs the GDAL C library
(makinacorpus/django-leaflet#299). Wild Rydes has no geometry fields, and neither a laptop
nor the Lambda package has GDAL. This app points Django at the installed leaflet package's
folder (for `templates/leaflet/*` and `static/leaflet/*`) under a module that has no admin.
"""
