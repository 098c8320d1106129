"""Word forms and phrases for the Kyrgyz stemmer and the text language identifier (tests and bench/kyrgyz.py).

Word forms: parliamentary nouns, each declined by the paradigms of these grammars (plural
-лар/-дар/-тар, possessive -ым/-ың/-ы/-сы/-ыбыз, case endings genitive -нын/-дын/-тын, dative
-га/-ка, accusative -ны/-ды/-ты and -н after a possessive, locative -да/-та and -нда, ablative
-дан/-тан and -нан, with the four-way vowel harmony а/ы, е/и, о/у, ө/ү and the voicing of a final
к/п before a vowel):

* R. J. Hebert, N. Poppe, *Kirghiz Manual*. Indiana University Publications, Uralic and Altaic
  Series 33, Bloomington, 1963 — noun declension and possessive paradigms.
* С. К. Кудайбергенов (ред.), *Грамматика киргизского литературного языка. Часть I: Фонетика и
  морфология*. Фрунзе: Илим, 1987 — the case system and the assimilation of suffix-initial consonants.
* H. Kasapoğlu Çengel, "Kırgız Türkçesi", in A. B. Ercilasun (ed.), *Türk Lehçeleri Grameri*.
  Ankara: Akçağ, 2007 — suffix allomorphs by vowel harmony.
* J. Washington, I. Salimzyanov, F. Tyers, "Finite-state morphological transducers for three
  Kypchak languages", LREC 2014 — the Kyrgyz nominal morphotactics (plural, possessive, case order).

The forms were written for Sanarip by these rules (no list was copied). Phrases: short sentences
of the kind said in a committee sitting, written for these tests in each language.
"""

FORMS: dict[str, str] = {
    "бюджет": "бюджеттин бюджетке бюджетти бюджетте бюджеттен бюджеттер бюджеттердин бюджеттерге бюджети "
              "бюджетибиз бюджетинде бюджетинен",
    "комитет": "комитеттин комитетке комитетти комитетте комитеттен комитеттер комитети комитетинде "
               "комитетибиз комитеттерде",
    "мыйзам": "мыйзамдын мыйзамга мыйзамды мыйзамда мыйзамдан мыйзамдар мыйзамдарды мыйзамы мыйзамын "
              "мыйзамыбыз мыйзамдарга",
    "депутат": "депутаттын депутатка депутатты депутаттар депутаттарга депутаттардын депутаттарыбыз депутаты "
               "депутаттарынан",
    "маселе": "маселенин маселеге маселени маселеде маселеден маселелер маселелерди маселеси маселебиз",
    "жыйын": "жыйындын жыйынга жыйынды жыйында жыйындан жыйындар жыйыны жыйынында",
    "өкмөт": "өкмөттүн өкмөткө өкмөттү өкмөттө өкмөттөн өкмөтү",
    "долбоор": "долбоордун долбоорго долбоорду долбоордо долбоорлор долбоору",
    "салык": "салыктын салыкка салыкты салыктар салыктарды салыгы",
    "шаар": "шаардын шаарга шаарды шаарда шаарлар",
    "токтом": "токтомдун токтомго токтомду токтомдор",
    "сунуш": "сунуштун сунушка сунушту сунуштар",
    "кеңеш": "кеңештин кеңешке кеңеште кеңештер",
    "партия": "партиянын партияга партияны партиялар",
    "чечим": "чечимдин чечимге чечимди чечимдер",
    "отурум": "отурумдун отурумга отурумда",
}

# Words that must keep stems of their own (precision): derivations and short roots.
DISTINCT: list[tuple[str, str]] = [
    ("бюджеттик", "бюджет"),      # -тик derives an adjective: not an inflection
    ("жыйын", "жый"),             # a root ending in н is not cut as a possessive accusative
    ("экономика", "экономи"),     # -ка only after a voiceless consonant
    ("маселе", "масел"),
    ("шаар", "шаарлык"),
    ("мыйзам", "мыйз"),           # never the Russian stemmer's cut
]

PHRASES: dict[str, list[str]] = {
    "ky": [
        "Бүгүнкү жыйында бюджеттин долбоору каралат.",
        "Урматтуу депутаттар, сөз комитеттин төрагасына берилет.",
        "Мыйзам долбоору биринчи окууда кабыл алынды.",
        "Ушул маселе боюнча суроолор барбы?",
        "Өкмөттүн өкүлү жооп берсин.",
        "Добуш берүүгө коёбуз, ким макул?",
        "Салыктар жөнүндө мыйзамга өзгөртүүлөр киргизилет.",
        "Рахмат, отурунуз.",
        "Комиссиянын корутундусу менен тааныштык.",
        "Кийинки маселеге өтөбүз.",
    ],
    "ru": [
        "Сегодня мы рассматриваем проект бюджета.",
        "Слово предоставляется председателю комитета.",
        "Законопроект принят в первом чтении.",
        "Есть ли вопросы по этому пункту повестки?",
        "Прошу представителя правительства ответить.",
        "Ставлю на голосование, кто за?",
        "Поправки в налоговый кодекс внесены.",
        "Спасибо, садитесь.",
        "Мы ознакомились с заключением комиссии.",
        "Переходим к следующему вопросу.",
    ],
    "en": [
        "Today we consider the draft budget.",
        "The floor is given to the chair of the committee.",
        "The bill was adopted in the first reading.",
        "Are there any questions on this item?",
        "I ask the government representative to answer.",
        "I put it to the vote, who is in favour?",
        "Amendments to the tax code are introduced.",
        "Thank you, please sit down.",
        "We have read the conclusion of the commission.",
        "We move on to the next question.",
    ],
    "kk": [
        "Бүгін біз бюджет жобасын қараймыз.",
        "Сөз комитет төрағасына беріледі.",
        "Заң жобасы бірінші оқылымда қабылданды.",
        "Осы мәселе бойынша сұрақтар бар ма?",
        "Үкімет өкілі жауап берсін.",
    ],
}
