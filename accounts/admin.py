from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import TokenProxy
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from accounts import services
from accounts.admin_forms import ServiceKeyForm, scopes_display
from accounts.models import PAYMENT_SCOPES, Scope, ServiceKey, User, readable_domains
from core.admin import ProjectAdmin
from organizations.admin import OrganizationScoped


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ProjectAdmin, BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "email_confirmed_at", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    date_hierarchy = "date_joined"
    readonly_fields = ["last_login", "date_joined", "email_confirmed_at"]
    actions = ["sign_out_everywhere", "clear_attempt_limits"]

    def get_search_results(self, request, queryset, search_term):
        """Also by the address as mail logs and bounces name it (anna@xn--bcher-kva.example),
        for the one kept and shown (anna@bücher.example)."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        readable = readable_domains(search_term)
        if readable != search_term:
            more, more_duplicates = super().get_search_results(request, queryset, readable)
            found, duplicates = found | more, duplicates or more_duplicates
        return found, duplicates

    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined", "email_confirmed_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.action(
        description="Sign out everywhere (end every API token and session)",
        permissions=["change"],
    )
    def sign_out_everywhere(self, request, queryset):
        self._each(request, queryset, services.revoke_everywhere, "Signed out everywhere")

    @admin.action(
        description="Clear sign-in and code attempt limits (per e-mail)",
        permissions=["change"],
    )
    def clear_attempt_limits(self, request, queryset):
        self._each(request, queryset, services.clear_attempt_limits, "Attempt limits cleared")

    def _each(self, request, queryset, service, done: str) -> None:
        """Run `service` for every chosen account, then say how many."""
        for user in queryset:
            service(user)
        self.message_user(request, f"{done}: {queryset.count()} account(s).")


admin.site.unregister(APIKey)  # the library's own model; ours is ServiceKey

# Groups (the roles) and DRF's tokens, registered by their apps with Django's rule (any
# lookup on their own fields, e.g. ?id__range=1, a 500): again with the project's.
admin.site.unregister(Group)
admin.site.unregister(TokenProxy)


@admin.register(Group)
class GroupAdmin(ProjectAdmin, BaseGroupAdmin):
    pass


@admin.register(TokenProxy)
class TokenAdmin(ProjectAdmin, BaseTokenAdmin):
    pass


@admin.register(ServiceKey)
class ServiceKeyAdmin(ProjectAdmin, OrganizationScoped, APIKeyModelAdmin):
    """Create a key (shown once), see who uses it, revoke it.

    Finance staff see and mint keys of their own organizations only (OrganizationScoped);
    a key of no organization (another service's, e.g. the promo service) is a superuser's.
    """

    form = ServiceKeyForm
    # When and by whom a key was made are on its page: the list fits 1280 px.
    list_display = [
        "prefix",
        "name",
        "service",
        "organization",
        "scopes_column",
        "expiry_date",
        "revoked",
    ]
    list_filter = [
        "revoked", "service", "created", ("organization", admin.RelatedOnlyFieldListFilter)
    ]  # fmt: skip
    list_select_related = ["organization", "created_by"]
    search_fields = ["name", "prefix", "service", "organization__name"]
    date_hierarchy = "created"
    autocomplete_fields = ["organization"]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "created_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        creator = request.user

        class CheckedForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # On this form's own copies of the fields: the class's are shared by every
                # request of the process (a finance user's narrowing once stuck for all).
                if creator.is_superuser:
                    return
                if "organization" in self.fields:
                    self.fields["organization"].required = True
                if "scopes" in self.fields:
                    # Finance mints keys for its organizations' payments, nothing else.
                    self.fields["scopes"].choices = [
                        (value, label) for value, label in Scope.choices if value in PAYMENT_SCOPES
                    ]

            def clean(self):
                cleaned = super().clean()
                if not (self.has_error("organization") or self.has_error("scopes")):
                    # Who may mint which key: the same rule as every other door.
                    services.check_service_key_grant(
                        creator=creator,
                        organization=cleaned.get("organization"),
                        scopes=cleaned.get("scopes"),
                    )
                return cleaned

        return CheckedForm

    @admin.display(description="scopes")
    def scopes_column(self, obj):
        return scopes_display(obj)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        plain = services.issue_service_key(obj, creator=request.user)
        messages.warning(
            request,
            f"The API key for {obj.name} is: {plain}. Please store it somewhere safe: "
            "you will not be able to see it again.",
        )
