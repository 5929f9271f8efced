"""The service request API: thin views that resolve access, validate input and call the workflow."""

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.selectors import eligible_handlers
from core.api import JSONParser, Pagination
from core.errors import UploadTooLarge
from officials.models import User
from officials.permissions import is_admin, is_official
from requests_app import calendar, routing, workflow
from requests_app.approvers import prefetch_linked_leaders
from requests_app.attachments import add_attachment, may_attach
from requests_app.calendar_notice import NoticeError
from requests_app.checkpoints import verify_chain
from requests_app.filters import RequestFilter
from requests_app.models import Attachment
from requests_app.selectors import requests_visible_to
from requests_app.serializers import (
    ACTION_INPUTS,
    AttachmentInput,
    AttachmentSerializer,
    CalendarInput,
    CalendarLoadedSerializer,
    CalendarYearSerializer,
    EligibleHandlerSerializer,
    EligibleHandlersQuery,
    RequestCreateInput,
    RequestEventSerializer,
    ServiceRequestSerializer,
    VerifySerializer,
)


class EventPagination(Pagination):
    page_size = 200  # a timeline is read whole; 200 covers all but the longest histories


class ServiceRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ServiceRequestSerializer
    filterset_class = RequestFilter
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        return (
            requests_visible_to(self.request.user)
            .with_related()
            .prefetch_related(
                Prefetch(
                    "attachments",
                    queryset=Attachment.objects.order_by("id"),
                    to_attr="attachment_list",
                )
            )
            .order_by("-submitted_at", "-id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if self.action == "list" and page is not None:
            # Who decides each pending extension, for `allowed_actions`: one query a page.
            prefetch_linked_leaders(page, self.request.user)
        return page

    def _respond(self, service_request, code=status.HTTP_200_OK) -> Response:
        # Acting can take a request out of the actor's sight (a handler transferring it to
        # another department): they still get the result of what they just did, not an error.
        fresh = self.get_queryset().filter(pk=service_request.pk).first() or service_request
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=RequestCreateInput, responses={201: ServiceRequestSerializer})
    def create(self, request):
        data = RequestCreateInput(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        created = workflow.submit_request(by=request.user, **data.validated_data)
        return self._respond(created, status.HTTP_201_CREATED)

    # The list's filters are no filters of one request's history (nor of the request it is
    # read from): with filter_backends empty, they are neither applied nor documented.
    @extend_schema(responses=RequestEventSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk=None):
        service_request = self.get_object()
        events = service_request.events.select_related("actor").order_by("seq")
        paginator = EventPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        # The enterprise reads a recusal as a neutral "reassigned" (no name, no tie).
        shown = [routing.as_seen_by(event, request.user) for event in page or []]
        return paginator.get_paginated_response(RequestEventSerializer(shown, many=True).data)

    @extend_schema(responses=VerifySerializer)
    @action(detail=True, methods=["get"], filter_backends=[])
    def verify(self, request, pk=None):
        service_request = self.get_object()
        if not request.user.has_perm("requests.verify_chain"):
            raise PermissionDenied("Only discipline inspectors verify case histories.")
        result = verify_chain(service_request)
        return Response(VerifySerializer(result).data)

    @extend_schema(
        parameters=[OpenApiParameter("department", int, description="default: the request's")],
        responses=EligibleHandlerSerializer(many=True),
    )
    # No filter backends: `?department=` names where it would go, not a filter on the request.
    @action(detail=True, methods=["get"], url_path="eligible-handlers", filter_backends=[])
    def eligible_handlers(self, request, pk=None):
        """Handlers of a department who may take this request: those with a declared tie to its
        enterprise recuse (回避) and are left out."""
        service_request = self.get_object()
        if not request.user.has_perm("requests.list_eligible_handlers"):
            raise PermissionDenied("Only officials route requests.")
        data = EligibleHandlersQuery(data=request.query_params)
        data.is_valid(raise_exception=True)
        department = data.validated_data.get("department")
        department_id = department.pk if department else service_request.department_id
        handlers = (
            eligible_handlers(department_id, service_request.enterprise_id)
            if department_id
            else User.objects.none()
        )
        page = self.paginate_queryset(handlers.select_related("department"))
        return self.get_paginated_response(EligibleHandlerSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": AttachmentInput},
        responses={201: AttachmentSerializer, 413: OpenApiResponse(description="Upload too large")},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, pk=None):
        service_request = self.get_object()
        # Refuse early on the declared length, before the body is read, where the client sent one.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.ATTACHMENT_MAX_BYTES + 64 * 1024:
            raise UploadTooLarge
        if not may_attach(service_request, request.user):
            raise PermissionDenied("You may not add files to this request.")
        data = AttachmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = add_attachment(
            service_request, by=request.user, upload=data.validated_data["file"]
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


def _make_action(name: str):
    input_class = ACTION_INPUTS[name]

    def run(self, request, pk=None):
        service_request = self.get_object()  # 404 when missing or not visible
        workflow.check(service_request, name, request.user)  # 403, then 409
        data = input_class(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)  # 400
        changed = workflow.transition(
            service_request.pk, name, by=request.user, **data.validated_data
        )
        return self._respond(changed)

    run.__name__ = name
    run.__doc__ = f"{workflow.TRANSITIONS[name].label} ({name})."
    # extend_schema after action: action() replaces the function's kwargs, where the schema is kept.
    routed = action(detail=True, methods=["post"], url_path=name)(run)
    return extend_schema(
        request=input_class,
        responses={
            200: ServiceRequestSerializer,
            400: OpenApiResponse(description="Invalid input"),
            403: OpenApiResponse(description="Not allowed for this user"),
            404: OpenApiResponse(description="No such request"),
            409: OpenApiResponse(description="Not allowed in the current state"),
        },
        operation_id=f"requests_{name}",
    )(routed)


for _name in workflow.ACTIONS:
    setattr(ServiceRequestViewSet, _name, _make_action(_name))


class CalendarYearView(APIView):
    """A year of the working-day calendar: any official reads it, an admin loads it."""

    def _year(self, year: int) -> int:
        if not calendar.FIRST_YEAR <= year <= calendar.LAST_YEAR:
            raise NotFound("No calendar for that year.")
        return year

    @extend_schema(responses=CalendarYearSerializer)
    def get(self, request, year: int):
        if not is_official(request.user):
            raise PermissionDenied("Only officials read the working-day calendar.")
        official, days = calendar.year_days(self._year(year))
        return Response(
            CalendarYearSerializer({"year": year, "official": official, "days": days}).data
        )

    @extend_schema(
        request=CalendarInput,
        parameters=[
            OpenApiParameter("dry_run", bool, description="parse and report, save nothing")
        ],
        responses={
            200: CalendarLoadedSerializer,
            400: OpenApiResponse(
                description="A notice line that cannot be read, a day outside the year"
            ),
            403: OpenApiResponse(description="Not an admin"),
        },
    )
    def put(self, request, year: int):
        if not is_admin(request.user):
            raise PermissionDenied("Only an admin loads the working-day calendar.")
        year = self._year(year)
        data = CalendarInput(data=request.data)
        data.is_valid(raise_exception=True)
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        try:
            if "notice" in data.validated_data:
                days = calendar.days_from_notice(data.validated_data["notice"], year)
            else:
                days = [calendar.Day(**day) for day in data.validated_data["days"]]
            loaded = calendar.load_year(year, days, dry_run=dry_run)
        except NoticeError as error:
            raise ValidationError({"notice": [str(error)]}) from None
        except calendar.CalendarInputError as error:
            raise ValidationError({error.field: [error.message]}) from None
        return Response(
            CalendarLoadedSerializer(
                {"year": year, "official": True, "days": loaded.days, "rebased": loaded.rebased}
            ).data
        )
