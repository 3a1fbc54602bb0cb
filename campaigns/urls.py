from django.urls import path

from campaigns.views import campaigns

urlpatterns = [
    path("campaigns/", campaigns.campaign_list_view, name="campaign_list"),
    path("campaigns/<int:campaign_id>/", campaigns.campaign_detail_view, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/<slug:action>/", campaigns.campaign_action_view, name="campaign_action"),
]
