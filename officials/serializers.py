"""API shapes of reference data and provisioning (departments, enterprises, users)."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.serializers import ModelSerializer, Serializer, StrictCharField
from officials.credit_code import normalize, validate_credit_code
from officials.models import (
    Category,
    Department,
    Enterprise,
    EnterpriseLink,
    EnterpriseMember,
    LinkKind,
    Role,
    User,
)
from officials.selectors import REGION_NOT_IN_TREE, is_region


class RefSerializer(Serializer):
    """`{"id", "name"}`: how the API points at an enterprise, department or person."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        return obj.display_name if isinstance(obj, User) else obj.name

    def to_representation(self, instance) -> dict:
        # The two fields above, written at once: a list of 100 requests carries some 400 of
        # these, and DRF's walk over a serializer's fields cost more than the rest of a row.
        return {"id": instance.pk, "name": self.get_name(instance)}


class CategorySerializer(ModelSerializer):
    name = StrictCharField(read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name"]


class DepartmentSerializer(ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    name_en = StrictCharField(max_length=200, required=False, allow_blank=True)
    region = StrictCharField(max_length=100, required=False, allow_blank=True)
    categories = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.all(), many=True, required=False
    )

    class Meta:
        model = Department
        fields = ["id", "name", "name_en", "parent", "region", "categories"]


class EnterpriseSerializer(ModelSerializer):
    credit_code = StrictCharField(max_length=64)
    # One of the regions of the department tree (`region_choices`), never free text.
    region = StrictCharField(max_length=100, required=False, allow_blank=True)
    quiet_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), required=False, max_length=7
    )

    class Meta:
        model = Enterprise
        fields = ["id", "name", "credit_code", "region", "industry", "whitelisted", "quiet_days"]

    def validate_credit_code(self, value: str) -> str:
        code = normalize(value)
        try:
            validate_credit_code(code)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        if Enterprise.objects.filter(credit_code=code).exists():
            raise serializers.ValidationError(_("An enterprise with this credit code exists."))
        return code

    def validate_region(self, value: str) -> str:
        if value and not is_region(value):
            raise serializers.ValidationError(REGION_NOT_IN_TREE)
        return value

    def validate_quiet_days(self, value: list[int]) -> list[int]:
        return sorted(set(value))


class UserSerializer(ModelSerializer):
    """Provisioning a user; for an entrepreneur `enterprises` are the ones they act for,
    for a liaison or leader the ones they are linked to."""

    password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})
    name = StrictCharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices)
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True
    )
    enterprises = serializers.PrimaryKeyRelatedField(
        queryset=Enterprise.objects.all(), many=True, required=False, write_only=True
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "password",
            "name",
            "role",
            "department",
            "enterprises",
            "email",
            "phone",
            "title",
        ]
        extra_kwargs = {
            "email": {"required": False},
            "phone": {"required": False},
            "title": {"required": False},
        }

    def validate(self, attrs):
        role = attrs["role"]
        if role == Role.HANDLER and not attrs.get("department"):
            raise serializers.ValidationError({"department": [_("A handler needs a department.")]})
        if attrs.get("enterprises") and role not in (Role.ENTREPRENEUR, Role.LIAISON, Role.LEADER):
            raise serializers.ValidationError(
                {"enterprises": [_("Only entrepreneurs, liaisons and leaders have enterprises.")]}
            )
        candidate = User(
            username=attrs["username"],
            email=attrs.get("email", ""),
            first_name=attrs.get("name", ""),
        )
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from None
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        enterprises = validated_data.pop("enterprises", [])
        password = validated_data.pop("password")
        user = User(**validated_data)
        user.set_password(password)
        # A portal administrator runs the Django admin too (reference data, calendars, users).
        user.is_staff = user.is_superuser = user.role == Role.ADMIN
        user.save()
        if user.role == Role.ENTREPRENEUR:
            EnterpriseMember.objects.bulk_create(
                EnterpriseMember(user=user, enterprise=e) for e in enterprises
            )
        elif enterprises:
            kind = LinkKind.LIAISON if user.role == Role.LIAISON else LinkKind.LEADER
            EnterpriseLink.objects.bulk_create(
                EnterpriseLink(official=user, enterprise=e, kind=kind) for e in enterprises
            )
        return user
