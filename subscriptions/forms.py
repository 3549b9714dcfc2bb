"""The management form of a sign-up form, and the public form people fill in."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from audience.models import CustomField, RecipientList
from audience.selectors import custom_fields, lists_of
from sending.models import SendingAccount
from subscriptions.fields import STANDARD_ASKABLE, askable_fields
from subscriptions.models import SignupForm
from subscriptions.services import FormSettings


class SignupFormForm(forms.Form):
    name = forms.CharField(max_length=120)
    title = forms.CharField(max_length=200, required=False, help_text="Heading of the page.")
    intro = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    lists: forms.ModelMultipleChoiceField[RecipientList] = forms.ModelMultipleChoiceField(
        queryset=RecipientList.objects.none(),  # set per workspace
        widget=forms.CheckboxSelectMultiple,
        help_text="Lists marked single opt-in are joined at once; the others after the "
        "confirmation e-mail's link is followed.",
    )
    asked = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Fields asked"
    )
    require_challenge = forms.BooleanField(
        required=False,
        label="Proof-of-work challenge (ALTCHA)",
        help_text="Robots must spend computing time per sign-up; people need JavaScript.",
    )
    sending_account: forms.ModelChoiceField[SendingAccount] = forms.ModelChoiceField(
        queryset=SendingAccount.objects.none(),
        required=False,
        empty_label="The first active account",
        help_text="Sends the confirmation e-mails.",
    )
    confirm_subject = forms.CharField(max_length=200, label="Confirmation subject")
    confirm_text = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Confirmation message",
        help_text="Placeholders: {confirm_url} (required), {email}, {form_name}, {first_name}, "
        "{last_name}, {company}, {country}, {city}.",
    )
    thanks_text = forms.CharField(
        max_length=500, required=False, help_text="Shown once the sign-up is confirmed."
    )

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lists = cast(forms.ModelMultipleChoiceField[RecipientList], self.fields["lists"])
        lists.queryset = lists_of(workspace)
        accounts = cast(forms.ModelChoiceField[SendingAccount], self.fields["sending_account"])
        accounts.queryset = SendingAccount.objects.filter(workspace=workspace).order_by("id")
        cast(forms.MultipleChoiceField, self.fields["asked"]).choices = list(
            askable_fields(workspace).items()
        )

    def settings(self) -> FormSettings:
        data = self.cleaned_data
        return FormSettings(
            name=data["name"],
            lists=list(data["lists"]),
            fields=list(data["asked"]),
            title=data["title"],
            intro=data["intro"],
            require_challenge=data["require_challenge"],
            sending_account=data["sending_account"],
            confirm_subject=data["confirm_subject"],
            confirm_text=data["confirm_text"],
            thanks_text=data["thanks_text"],
        )


def initial_of(form: SignupForm) -> dict[str, Any]:
    return {
        "name": form.name,
        "title": form.title,
        "intro": form.intro,
        "lists": list(form.lists.all()),
        "asked": form.fields,
        "require_challenge": form.require_challenge,
        "sending_account": form.sending_account,
        "confirm_subject": form.confirm_subject,
        "confirm_text": form.confirm_text,
        "thanks_text": form.thanks_text,
    }


def custom_input(field: CustomField) -> forms.Field:
    label = field.label or field.key
    if field.type == "choice" and field.choices:
        choices = [("", "—"), *((str(c), str(c)) for c in field.choices)]
        return forms.ChoiceField(label=label, choices=choices, required=False)
    return forms.CharField(label=label, max_length=2000, required=False)


class PublicSignupForm(forms.Form):
    """What a person fills in: the address and the fields the form asks (all optional but the
    address); custom values are checked by their type in the service."""

    email = forms.CharField(max_length=254, label=_("E-mail address"))

    def __init__(self, *args: Any, signup_form: SignupForm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget = forms.EmailInput(attrs={"autocomplete": "email"})
        custom = {cf.key: cf for cf in custom_fields(signup_form.workspace)}
        for name in signup_form.fields:
            if name in STANDARD_ASKABLE:
                self.fields[name] = forms.CharField(
                    label=_(STANDARD_ASKABLE[name]), max_length=200, required=False
                )
            elif name in custom:
                self.fields[name] = custom_input(custom[name])

    def standard_values(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if k in STANDARD_ASKABLE and v}

    def custom_values(self) -> dict[str, str]:
        skip = {"email", *STANDARD_ASKABLE}
        return {k: str(v) for k, v in self.cleaned_data.items() if k not in skip and v}


class PreferencesForm(forms.Form):
    """The preference centre's form: the lists shown (ticked where the person is on them), the
    names and the custom fields the workspace's forms ask (named `field_<key>`, as the
    service's errors are). Custom values are checked by their type in the service."""

    lists = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label=_("Your lists")
    )
    first_name = forms.CharField(label=_("First name"), max_length=200, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=200, required=False)

    def __init__(
        self,
        *args: Any,
        lists: list[RecipientList],
        asked: list[CustomField],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(item.pk, item.name) for item in lists]
        cast(forms.TypedMultipleChoiceField, self.fields["lists"]).choices = choices
        for field in asked:
            self.fields[f"field_{field.key}"] = custom_input(field)

    def custom_values(self) -> dict[str, str]:
        return {
            name.removeprefix("field_"): str(value or "")
            for name, value in self.cleaned_data.items()
            if name.startswith("field_")
        }
