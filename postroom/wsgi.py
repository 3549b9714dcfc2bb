import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "postroom.settings")

django_application = get_wsgi_application()

# Views imported, catalogues read and templates compiled before the first request, not during.
from postroom.warm_up import warm_up  # noqa: E402 - needs the settings Django just loaded

warm_up()

# All of that lives as long as the process: no collection walks it again (core.heap).
from core import heap  # noqa: E402

heap.settle()

# Opens and clicks are answered in front of Django (postroom.hit_front); the rest goes to it,
# without the process's environment variables the server put in the request (postroom.serving).
from postroom.hit_front import HitFront  # noqa: E402 - needs the settings Django just loaded
from postroom.serving import WithoutProcessEnvironment  # noqa: E402

application = HitFront(WithoutProcessEnvironment(django_application))
