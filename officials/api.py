"""API endpoints for reference data and provisioning; every read goes through a selector."""

from django.db.models import Q
from rest_framework import mixins, permissions, viewsets

from officials.models import Category, User
from officials.permissions import permission
from officials.selectors import departments_visible_to, enterprises_visible_to
from officials.serializers import (
    CategorySerializer,
    DepartmentSerializer,
    EnterpriseSerializer,
    UserSerializer,
)


class ReadForAllWriteForAdmins(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.has_perm(
            "officials.provision"
        )


class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    pagination_class = None


class DepartmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DepartmentSerializer
    permission_classes = [ReadForAllWriteForAdmins]

    def get_queryset(self):
        return departments_visible_to(self.request.user).prefetch_related("categories")


class EnterpriseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EnterpriseSerializer
    permission_classes = [ReadForAllWriteForAdmins]

    def get_queryset(self):
        return enterprises_visible_to(self.request.user).order_by("name", "id")


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = UserSerializer
    permission_classes = [permission("officials.provision", "Only administrators may do this.")]

    def get_queryset(self):
        qs = User.objects.order_by("id")
        role = self.request.query_params.get("role")
        if role:
            qs = qs.filter(role=role)
        search = self.request.query_params.get("search", "").strip()
        if search:
            qs = qs.filter(Q(username__icontains=search) | Q(name__icontains=search))
        return qs
