from django.urls import path

from demo import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("slow-sql/", views.slow_sql, name="slow_sql"),
    path("ten-slow-requests/", views.ten_slow_requests, name="ten_slow_requests"),
    path("wait/", views.wait, name="wait"),
    path("hits/", views.hits, name="hits"),
    path("upload/", views.upload, name="upload"),
]
