"""`/favicon.ico`, which browsers ask for on every page: a redirect to the static SVG icon."""

from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

ICON = "favicon.svg"


@require_GET
def favicon(request):
    # Temporary, cached for a day: in production the static name carries a hash that changes
    # with the file, and a permanent redirect would keep browsers on the old name.
    response = HttpResponseRedirect(static(ICON))
    patch_cache_control(response, public=True, max_age=24 * 3600)
    return response
