"""API URLs of the lists, officials' records and visit filings (under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from compliance import api

router = SimpleRouter(trailing_slash=True)
router.register("rules", api.RuleViewSet, basename="rule")
router.register("interactions", api.InteractionViewSet, basename="interaction")
router.register("gifts", api.GiftViewSet, basename="gift")
router.register("asset-uses", api.AssetUseViewSet, basename="asset-use")
router.register("declarations", api.DeclarationViewSet, basename="declaration")
router.register("visit-filings", api.VisitFilingViewSet, basename="visit-filing")

urlpatterns = router.urls
