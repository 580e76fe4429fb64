from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import NotFound
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "message", "created_at", "read_at", "read"]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


def notifications_of(user):
    return Notification.objects.filter(user=user)


class NotificationListApi(ListAPIView):
    """The signed-in rider's notifications, newest first."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        return notifications_of(self.request.user)


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, notification_id: int):
        notification = notifications_of(request.user).filter(pk=notification_id).first()
        if notification is None:
            raise NotFound("No such notification.")
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
        return Response(NotificationSerializer(notification).data)
