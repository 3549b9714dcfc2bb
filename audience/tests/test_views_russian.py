"""The audience pages render in Russian: lists, segments, the import and its mapping, a job,
fields, a recipient, erasing, the suppression list, export and a recipient's timeline show their
headings, labels, choices and buttons in Russian, with no English left."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audience.models import (
    AudienceJob,
    CustomField,
    JobKind,
    JobStatus,
    Suppression,
)
from audience.tests.factories import RecipientFactory, RecipientListFactory, SegmentFactory
from core.testing.russian import RUSSIAN, assert_russian

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(personas):
    workspace = personas.workspace
    recipient = RecipientFactory.create(workspace=workspace, email="reader@example.test")
    RecipientListFactory.create(workspace=workspace, name="Readers")
    SegmentFactory.create(workspace=workspace, name="Keen", definition={})
    field = CustomField.objects.create(workspace=workspace, key="plan", label="Plan")
    Suppression.objects.create(workspace=workspace, email="gone@example.test", reason="manual")
    job = AudienceJob.objects.create(
        workspace=workspace, kind=JobKind.IMPORT, status=JobStatus.DONE, file_name="people.csv"
    )
    return {"recipient": recipient.pk, "field": field.pk, "job": job.pk}


PAGES = [
    (
        "/recipients/lists/",
        [
            "Новый список",
            "Создать список",
            "Название",
            "Описание",
            "Подписка без подтверждения",
            "Экспорт",
            "Переименовать",
        ],
        ["New list", "Create list", "Description", "Single opt-in", "Export", "Rename"],
    ),
    (
        "/recipients/segments/",
        ["Сегменты", "Новый сегмент", "Экспорт", "Изменить"],
        ["New segment", "Export", "Edit"],
    ),
    (
        "/recipients/segments/new/",
        [
            "Новый сегмент",
            "Получатели, которые подходят под",
            "все эти условия (И)",
            "равно",
            "Сохранить и показать получателей",
            "Подходят:",
            "1 получатель",
        ],
        [
            "New segment",
            "Recipients who match",
            "all of these",
            "does not equal",
            "Save and show",
            "Matches:",
            "1 recipient",
        ],
    ),
    (
        "/recipients/import/",
        [
            "Импорт получателей",
            "Перетащите сюда CSV-файл",
            "Кодировка",
            "Разделитель",
            "Определить автоматически",
            "Последние импорты",
            "Готово",
            "Импортировано",
        ],
        [
            "Import recipients",
            "Drop a CSV",
            "Encoding",
            "Delimiter",
            "Detect automatically",
            "Recent imports",
            "Done",
            "Imported",
        ],
    ),
    (
        "/recipients/jobs/{job}/",
        [
            "Импорт people.csv",
            "Готово",
            "Импортировано",
            "Отклонённые строки",
            "Повторяющиеся строки в файле",
        ],
        ["Import people", "Done", "Imported", "Rejected rows", "Duplicate rows"],
    ),
    (
        "/recipients/fields/",
        ["Поля", "Ключ", "Подпись", "Тип", "Текст", "Новое поле", "Добавить поле", "Да/нет"],
        ["Key", "Label", "Text", "New field", "Add field", "Yes/no"],
    ),
    ("/recipients/fields/{field}/", ["Поле plan", "Сохранить"], ["Field plan", "Save"]),
    (
        "/recipients/{recipient}/",
        [
            "Имя",
            "Фамилия",
            "Компания",
            "Комментарий",
            "Статус",
            "Активен",
            "Сохранить",
            "Скачать все данные (JSON)",
            "Удалить или стереть",
        ],
        [
            "First name",
            "Company",
            "Comment",
            "Active",
            "Save",
            "Download all data",
            "Delete or erase",
        ],
    ),
    (
        "/recipients/{recipient}/erase/",
        ["Стереть reader@example.test", "Отменить это нельзя", "Стереть"],
        ["Erase", "cannot be undone", "Keep the bare"],
    ),
    (
        "/recipients/suppression/",
        [
            "Список исключений",
            "Заблокировать адрес",
            "Причина",
            "Добавлен вручную",
            "Импорт адресов",
            "CSV-файл (адреса в первом столбце)",
            "Убрать",
        ],
        [
            "Suppression list",
            "Block an address",
            "Reason",
            "Added by hand",
            "Import addresses",
            "CSV file",
            "Remove",
        ],
    ),
    (
        "/recipients/new/",
        ["Новый получатель", "Сохранить"],
        ["New recipient", "First name", "Save"],
    ),
    (
        "/recipients/export/",
        ["Экспорт получателей", "Все получатели", "Без сегмента", "Скачать CSV"],
        ["Export recipients", "All recipients", "No segment", "Download CSV"],
    ),
    (
        "/recipients/{recipient}/activity/",
        ["Активность", "С этим адресом пока ничего не происходило"],
        ["Activity", "Nothing has happened"],
    ),
]


@pytest.mark.parametrize(("path", "russian", "english"), PAGES)
def test_audience_pages_speak_russian(world, owner_client: Client, path, russian, english):
    response = owner_client.get(path.format(**world), headers=RUSSIAN)
    assert_russian(response, russian, english)


def test_the_column_mapping_speaks_russian(world, owner_client: Client):
    upload = SimpleUploadedFile("people.csv", b"email,first_name,shoe\na@example.test,Ann,42\n")
    response = owner_client.post(
        "/recipients/import/", {"file": upload}, headers=RUSSIAN, follow=True
    )
    assert_russian(
        response,
        [
            "Сопоставление столбцов",
            "Определено: кодировка",
            "Столбец в файле",
            "Пропустить",
            "Имя",
            "Новое дополнительное поле…",
            "Получатели, которые уже есть",
            "Начать импорт",
            "Отказаться от этого файла",
        ],
        [
            "Map columns",
            "Detected",
            "Column in the file",
            "Skip",
            "First name",
            "New custom",
            "Start import",
            "Discard",
        ],
    )


def test_a_flash_message_is_russian(world, owner_client: Client):
    response = owner_client.post(
        "/recipients/lists/", {"name": "Fans"}, headers=RUSSIAN, follow=True
    )
    assert_russian(response, ["Список создан."], ["List created"])
