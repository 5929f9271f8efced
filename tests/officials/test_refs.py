"""`RefSerializer` writes its two fields at once (a list of 100 requests carries some 400 of
them): what DRF's walk over its declared fields gives, for each kind of thing it points at."""

import pytest
from rest_framework.serializers import Serializer

from officials.models import User
from officials.serializers import RefSerializer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["hank", "roads", "acme"])
def test_a_ref_is_what_its_declared_fields_give(cast, name):
    thing = cast[name]
    ref = RefSerializer(thing)
    assert ref.data == Serializer.to_representation(ref, thing)
    name = thing.display_name if isinstance(thing, User) else thing.name
    assert ref.data == {"id": thing.pk, "name": name}
    assert list(ref.data) == list(RefSerializer().fields)
