"""The template pages render in Russian: the editor and its help, attachments, the test send
box, the preview, deleting and the gallery show their words in Russian, with no English left."""

from __future__ import annotations

import pytest
from django.test import Client

from content.tests.factories import TemplateFactory
from core.testing.russian import RUSSIAN, assert_russian

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(personas):
    return TemplateFactory.create(workspace=personas.workspace, name="Newsletter")


@pytest.mark.parametrize(
    ("path", "russian", "english"),
    [
        (
            "/templates/new/",
            [
                "Новый шаблон",
                "Название",
                "Тема",
                "HTML-версия",
                "Текстовая версия",
                "Создать текст из HTML",
                "Как работает персонализация",
                "Поля этого рабочего",
            ],
            [
                "New template",
                "HTML body",
                "Text body",
                "Generate text",
                "How personalisation",
                "Fields of this workspace",
            ],
        ),
        (
            "/templates/{id}/",
            [
                "Просмотр",
                "Копировать",
                "Удалить",
                "Вложения",
                "Прикрепить",
                "Тестовая отправка",
                "Отправить тестовое письмо…",
            ],
            ["Preview", "Duplicate", "Attachments", "Attach", "Send a test"],
        ),
        (
            "/templates/{id}/preview/",
            [
                "Просмотр: Newsletter",
                "Показать для",
                "Пример данных",
                "Ширина",
                "Компьютер",
                "Заголовки",
                "Тема (декодированная)",
            ],
            ["Preview", "Show it as", "Sample data", "Width", "Desktop", "Headers"],
        ),
        (
            "/templates/{id}/delete/",
            ["Удалить «Newsletter»?", "Шаблон и его вложения будут удалены", "Отмена"],
            ["Delete", "The template and its attachments", "Cancel"],
        ),
        (
            "/templates/gallery/",
            [
                "Галерея шаблонов",
                "Все шаблоны",
                "Простое письмо",
                "Рассылка новостей",
                "Использовать этот шаблон",
            ],
            ["Template gallery", "All templates", "Plain letter", "Use this template"],
        ),
    ],
)
def test_template_pages_speak_russian(template, owner_client: Client, path, russian, english):
    response = owner_client.get(path.format(id=template.pk), headers=RUSSIAN)
    assert_russian(response, russian, english)


def test_saving_a_template_says_so_in_russian(template, owner_client: Client):
    data = {"name": "Newsletter", "subject": "Hello", "html_body": "<p>Hi</p>", "text_body": ""}
    response = owner_client.post(f"/templates/{template.pk}/", data, headers=RUSSIAN, follow=True)
    assert_russian(response, ["Шаблон сохранён."], ["Template saved"])


def test_the_block_editor_and_image_library_speak_russian(personas, owner_client: Client):
    from content import services

    blocks = services.template_create(
        workspace=personas.workspace, name="Рассылка", subject="S", format="blocks", blocks=[]
    )
    services.block_add(template=blocks, kind="image")
    response = owner_client.get(f"/templates/{blocks.pk}/blocks/0/", headers=RUSSIAN)
    assert_russian(
        response,
        ["Блоки", "Изображение", "Адрес изображения", "Добавить блок", "Перейти к коду MJML"],
        ["Blocks", "Image address", "Add a block", "Switch to MJML code", "Move"],
    )
    response = owner_client.get("/templates/new/?format=mjml", headers=RUSSIAN)
    assert_russian(response, ["Код MJML", "Блоки"], ["MJML code", "Blocks"])
    response = owner_client.get("/templates/images/", headers=RUSSIAN)
    assert_russian(
        response,
        ["Библиотека изображений", "Добавить изображение", "Изображений пока нет."],
        ["Image library", "Add the image", "No images yet"],
    )
