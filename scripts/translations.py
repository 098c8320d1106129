"""Write web/translations/{ru,ky}/LC_MESSAGES/messages.po from the table below.

Run after changing UI strings: ``python scripts/translations.py`` (it fails on a string of the
templates that has no translation, so no page is left half-translated).
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent

# English msgid: (Russian, Kyrgyz)
T = {
    "Sitting": ("Заседание", "Отурум"),
    "Account": ("Учётная запись", "Каттоо эсеби"),
    "Log out": ("Выйти", "Чыгуу"),
    "Users and audit log": ("Пользователи и журнал действий", "Колдонуучулар жана аракеттер журналы"),
    "Change password": ("Сменить пароль", "Сырсөздү өзгөртүү"),
    "Current password": ("Текущий пароль", "Учурдагы сырсөз"),
    "New password": ("Новый пароль", "Жаңы сырсөз"),
    "Repeat the new password": ("Повторите новый пароль", "Жаңы сырсөздү кайталаңыз"),
    "Sanarip": ("Санарип", "Санарип"),
    "Skip to content": ("Перейти к содержанию", "Мазмунга өтүү"),
    "Main": ("Основное меню", "Негизги меню"),
    "Sittings": ("Заседания", "Отурумдар"),
    "Search": ("Поиск", "Издөө"),
    "Clerk login": ("Вход для сотрудников аппарата", "Аппарат кызматкерлери үчүн кирүү"),
    "Language": ("Язык", "Тил"),
    "Switch": ("Сменить", "Алмаштыруу"),
    "Sanarip: committee sittings of the Jogorku Kenesh as a searchable public record.": (
        "Санарип: заседания комитетов Жогорку Кенеша — открытый архив с поиском.",
        "Санарип: Жогорку Кеңештин комитеттеринин отурумдары — издөөгө ылайыктуу ачык архив."),
    "Open data API": ("API открытых данных", "Ачык маалымат API"),
    "Schedule (iCal)": ("Расписание (iCal)", "Жүгүртмө (iCal)"),
    "Open data": ("Открытые данные", "Ачык маалымат"),
    "Date": ("Дата", "Күнү"),
    "Status": ("Статус", "Абалы"),
    "Duration": ("Длительность", "Узактыгы"),
    "min": ("мин", "мүн"),
    "No sittings yet.": ("Заседаний пока нет.", "Азырынча отурумдар жок."),
    "Pages": ("Страницы", "Барактар"),
    "Previous": ("Назад", "Мурунку"),
    "Next": ("Дальше", "Кийинки"),
    "Edit": ("Правка", "Оңдоо"),
    "published version": ("опубликованная версия", "жарыяланган версия"),
    "your edits wait for the next publication": ("ваши правки появятся со следующей публикацией",
                                                  "түзөтүүлөрүңүз кийинки жарыялоодо чыгат"),
    "not published yet: the public sees your edits at once, labelled automatic": (
        "ещё не опубликовано: посетители сразу видят ваши правки с пометкой «автоматическая»",
        "азырынча жарыяланган эмес: окурмандар түзөтүүлөрдү дароо «автоматтык» белгиси менен көрүшөт"),
    "History": ("История", "Тарых"),
    "Public page": ("Публичная страница", "Ачык барак"),
    "Mark reviewed": ("Отметить как проверенное", "Текшерилди деп белгилөө"),
    "Publish": ("Опубликовать", "Жарыялоо"),
    "Video of the sitting": ("Видео заседания", "Отурумдун видеосу"),
    "Player follows the cursor": ("Плеер следует за курсором", "Ойноткуч курсорго ээрчийт"),
    "Cursor follows the player": ("Курсор следует за плеером", "Курсор ойноткучка ээрчийт"),
    "Keyboard": ("Клавиатура", "Баскычтоп"),
    "play / pause": ("воспроизведение / пауза", "ойнотуу / тыным"),
    "back 5 seconds": ("назад на 5 секунд", "5 секунд артка"),
    "next / previous segment": ("следующий / предыдущий фрагмент", "кийинки / мурунку үзүндү"),
    "save the segment": ("сохранить фрагмент", "үзүндүнү сактоо"),
    "Add a person": ("Добавить участника", "Катышуучу кошуу"),
    "Name": ("Имя", "Аты-жөнү"),
    "Faction": ("Фракция", "Фракция"),
    "Add": ("Добавить", "Кошуу"),
    "Segments": ("Фрагменты", "Үзүндүлөр"),
    "uncertain language": ("язык не определён уверенно", "тили так аныкталган эмес"),
    "Text": ("Текст", "Текст"),
    "Start": ("Начало", "Башталышы"),
    "= player time": ("= время плеера", "= ойноткучтун убактысы"),
    "End": ("Конец", "Аягы"),
    "Speaker": ("Выступающий", "Сүйлөгөн"),
    "Save": ("Сохранить", "Сактоо"),
    "Split at cursor": ("Разделить по курсору", "Курсор боюнча бөлүү"),
    "Merge with next": ("Объединить со следующим", "Кийинкиси менен бириктирүү"),
    "No transcript yet.": ("Стенограммы пока нет.", "Азырынча стенограмма жок."),
    "Not found": ("Не найдено", "Табылган жок"),
    "Bad request": ("Неверный запрос", "Туура эмес суроо-талап"),
    "Temporarily unavailable": ("Временно недоступно", "Убактылуу жеткиликсиз"),
    "Error": ("Ошибка", "Ката"),
    "Back to the sittings": ("К списку заседаний", "Отурумдардын тизмесине"),
    "Back to the editor": ("Вернуться в редактор", "Редакторго кайтуу"),
    "Publications": ("Публикации", "Жарыялоолор"),
    "Version": ("Версия", "Версия"),
    "segments": ("фрагментов", "үзүндү"),
    "Not published yet.": ("Ещё не опубликовано.", "Азырынча жарыяланган эмес."),
    "Changes": ("Изменения", "Өзгөрүүлөр"),
    "segment": ("фрагмент", "үзүндү"),
    "Revert": ("Отменить", "Жокко чыгаруу"),
    "No changes yet.": ("Изменений пока нет.", "Азырынча өзгөрүүлөр жок."),
    "Committee sittings": ("Заседания комитетов", "Комитеттердин отурумдары"),
    "Live now": ("Сейчас в эфире", "Азыр түз эфирде"),
    "LIVE": ("ЭФИР", "ТҮЗ ЭФИР"),
    "since": ("с", "башталышы"),
    "No sitting is being broadcast right now.": ("Сейчас заседания не транслируются.",
                                                 "Азыр эч бир отурум көрсөтүлүп жаткан жок."),
    "Upcoming": ("Предстоящие", "Алдыдагы"),
    "No sittings are scheduled.": ("Запланированных заседаний нет.", "Пландалган отурумдар жок."),
    "Schedule as a calendar (iCal)": ("Расписание в календарь (iCal)", "Жүгүртмө календарь катары (iCal)"),
    "Recent sittings by committee": ("Последние заседания по комитетам", "Комитеттер боюнча акыркы отурумдар"),
    "No recorded sittings yet.": ("Записанных заседаний пока нет.", "Азырынча жазылган отурумдар жок."),
    "No committees yet.": ("Комитетов пока нет.", "Азырынча комитеттер жок."),
    "Automatic transcript, unverified": ("Автоматическая стенограмма, не проверена",
                                         "Автоматтык стенограмма, текшерилген эмес"),
    "This sitting has ended.": ("Заседание завершилось.", "Отурум аяктады."),
    "Open the recorded sitting": ("Открыть запись заседания", "Отурумдун жазуусун ачуу"),
    "Live video": ("Прямая трансляция", "Түз эфир видеосу"),
    "Click a line to replay it.": ("Нажмите на строку, чтобы переслушать её.",
                                   "Кайра угуу үчүн сапты басыңыз."),
    "Live transcript": ("Стенограмма в прямом эфире", "Түз эфирдеги стенограмма"),
    "Follow the newest line": ("Следовать за новой строкой", "Жаңы сапка ээрчүү"),
    "Username": ("Имя пользователя", "Колдонуучу аты"),
    "Password": ("Пароль", "Сырсөз"),
    "Log in": ("Войти", "Кирүү"),
    "Total speaking time": ("Общее время выступлений", "Сүйлөгөн жалпы убакыт"),
    "Speeches per sitting": ("Выступления по заседаниям", "Отурумдар боюнча сөздөр"),
    "Committee": ("Комитет", "Комитет"),
    "Speaking time": ("Время выступления", "Сүйлөгөн убактысы"),
    "Passages": ("Фрагменты", "Үзүндүлөр"),
    "s": ("с", "сек"),
    "No speeches recorded yet.": ("Выступлений пока нет.", "Азырынча сөздөр жок."),
    "Feed for this search": ("Лента по этому запросу", "Бул издөө боюнча тасма"),
    "Search the stenograms": ("Поиск по стенограммам", "Стенограммалардан издөө"),
    "Words": ("Слова", "Сөздөр"),
    'All words must match. "exact phrase", prefix*, -exclude, OR.': (
        'Должны совпасть все слова. "точная фраза", начало*, -исключить, OR.',
        'Бардык сөздөр дал келиши керек. "так сөз айкашы", башталышы*, -чыгаруу, OR.'),
    "All": ("Все", "Баары"),
    "From": ("С", "Баштап"),
    "To": ("По", "Чейин"),
    "Sort": ("Сортировка", "Иреттөө"),
    "Relevance": ("По релевантности", "Ылайыктуулугу боюнча"),
    "Newest first": ("Сначала новые", "Адегенде жаңылары"),
    "Malformed query": ("Ошибка в запросе", "Суроодо ката бар"),
    "moments found": ("найдено моментов", "учур табылды"),
    "Follow this search (Atom)": ("Подписаться на этот поиск (Atom)", "Бул издөөгө жазылуу (Atom)"),
    "Refine": ("Уточнить", "Тактоо"),
    "Year": ("Год", "Жыл"),
    "official": ("официально", "расмий"),
    "Nothing found. Try fewer words or a prefix such as бюдж*.": (
        "Ничего не найдено. Попробуйте меньше слов или начало слова, например бюдж*.",
        "Эч нерсе табылган жок. Азыраак сөз же сөздүн башын колдонуңуз, мисалы бюдж*."),
    "Official stenogram, published": ("Официальная стенограмма, опубликована", "Расмий стенограмма, жарыяланды"),
    "version": ("версия", "версия"),
    "Transcript": ("Стенограмма", "Стенограмма"),
    "No video is available for this sitting.": ("Видео этого заседания нет.", "Бул отурумдун видеосу жок."),
    "Copy link to this moment": ("Скопировать ссылку на этот момент", "Бул учурга шилтемени көчүрүү"),
    "Link to this moment": ("Ссылка на этот момент", "Бул учурга шилтеме"),
    "Download": ("Скачать", "Жүктөп алуу"),
    "Keys: Space play/pause, ← back 5 s, ↑/↓ previous/next line, Enter seek to line.": (
        "Клавиши: пробел — пуск/пауза, ← — назад на 5 с, ↑/↓ — предыдущая/следующая строка, Enter — перейти к строке.",
        "Баскычтар: боштук — ойнотуу/тыным, ← — 5 сек артка, ↑/↓ — мурунку/кийинки сап, Enter — сапка өтүү."),
    "Find in transcript": ("Найти в стенограмме", "Стенограммадан табуу"),
    "Follow the video": ("Следовать за видео", "Видеого ээрчүү"),
    "Unknown speaker": ("Неизвестный выступающий", "Белгисиз сүйлөөчү"),
    "Language uncertain: this passage may be transcribed unreliably": (
        "Язык не определён уверенно: этот фрагмент может быть распознан неточно",
        "Тили так аныкталган эмес: бул үзүндү так эмес таанылышы мүмкүн"),
    "uncertain": ("неточно", "так эмес"),
    "Users": ("Пользователи", "Колдонуучулар"),
    "Role": ("Роль", "Ролу"),
    "Active": ("Активен", "Активдүү"),
    "yes": ("да", "ооба"),
    "no": ("нет", "жок"),
    "Disable": ("Отключить", "Өчүрүү"),
    "Enable": ("Включить", "Күйгүзүү"),
    "Audit log": ("Журнал действий", "Аракеттер журналы"),
}


def main() -> int:
    pot = ROOT / "build" / "messages.pot"
    pot.parent.mkdir(exist_ok=True)
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_", "-o", str(pot), str(ROOT)], check=True, capture_output=True)
    with open(pot, "rb") as fh:
        ids = [m.id for m in read_po(fh) if m.id]
    missing = [i for i in ids if i not in T]
    if missing:
        print("untranslated:", *missing, sep="\n  ")
        return 1
    for n, lang in enumerate(("ru", "ky")):
        catalog = Catalog(locale=lang, project="Sanarip")
        for msgid in ids:
            catalog.add(msgid, T[msgid][n])
        out = ROOT / "web" / "translations" / lang / "LC_MESSAGES" / "messages.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as fh:
            write_po(fh, catalog, width=100)
        print(f"wrote {out.relative_to(ROOT)} ({len(ids)} messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
