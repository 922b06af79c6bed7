#!/usr/bin/env python3
"""Writes the WordPiece differential-test fixture.

Generates a fixed (seeded) set of sentences in many scripts, with emoji, combining
marks, control and format characters, punctuation, numbers and very long words, and
records the ids that Hugging Face `tokenizers` gives for each with
`BertWordPieceTokenizer(vocab.txt, lowercase=True)` -- the tokenizer all-MiniLM-L6-v2
was trained with. `Tests/IngestTests/WordPieceDifferentialTests.swift` requires
`WordPieceTokenizer` to give the same ids.

The fixture is JSON lines: a header object, then one object per sentence,
{"i": index, "k": kind, "s": sentence, "ids": [101, ..., 102]} with the untruncated ids
([CLS] and [SEP] included). Non-printing characters are written as \\u escapes so the
file stays readable and diffable.

Run it (a tool, not part of the build; CI reads the committed fixture):

    python3 -m venv /tmp/tokvenv && /tmp/tokvenv/bin/pip install tokenizers==0.23.3
    /tmp/tokvenv/bin/python tools/tokenizer/make_fixture.py [--vocab PATH] [--out PATH]
"""

import argparse
import hashlib
import json
import os
import random
import sys
import unicodedata

TOKENIZERS_VERSION = "0.23.3"
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
SEED = 13
PER_KIND = 120

# Real words per script (small lists; sentences mix them at random).
WORDS = {
    "hindi": "भारत एक विशाल देश है और इसकी संस्कृति बहुत पुरानी हिन्दी भाषा में लिखा गया "
    "क्षत्रिय विद्यालय स्वतंत्रता प्रधानमंत्री सरकार कृपया धन्यवाद नमस्ते पुस्तक ज्ञान "
    "अध्ययन राष्ट्रीय उत्तर प्रदेश शिक्षा विज्ञान प्रौद्योगिकी कंप्यूटर ऋषि ऑफिस "
    "गुरुद्वारा मुंबई दिल्ली चाँद हँसना सिंह", 
    "bengali": "আমার সোনার বাংলা আমি তোমায় ভালোবাসি বাংলাদেশ কলকাতা রবীন্দ্রনাথ ঠাকুর "
    "বিশ্ববিদ্যালয় স্বাধীনতা ভাষা আন্দোলন শিক্ষা প্রযুক্তি ক্ষমা চট্টগ্রাম নদী মাছ ভাত "
    "সংস্কৃতি গ্রন্থাগার ঢাকা শহর উৎসব",
    "tamil": "தமிழ் மொழி இந்தியா இலங்கை சிங்கப்பூர் வணக்கம் நன்றி பள்ளிக்கூடம் "
    "கணினி அறிவியல் திருக்குறள் வள்ளுவர் சென்னை மதுரை கோயில் பொங்கல் தேர்தல் "
    "அரசாங்கம் பல்கலைக்கழகம் ஸ்ரீ க்ஷேத்திரம் புத்தகம் மக்கள்",
    "thai": "ภาษาไทย ประเทศไทย กรุงเทพมหานคร สวัสดี ขอบคุณ ครับ ค่ะ โรงเรียน มหาวิทยาลัย "
    "คอมพิวเตอร์ อาหาร น้ำ ข้าว ผู้หญิง ผู้ชาย เชียงใหม่ พระมหากษัตริย์ วิทยาศาสตร์ "
    "ภูเขา ทะเล ฤดูฝน ๑๒๓ ฯลฯ ๆ",
    "arabic": "اَلسَّلَامُ عَلَيْكُمْ بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ اَللُّغَةُ الْعَرَبِيَّةُ "
    "كِتَابٌ مَدْرَسَةٌ جَامِعَةٌ الْقَاهِرَةُ مَرْحَبًا شُكْرًا مُحَمَّدٌ قُرْآنٌ عِلْمٌ "
    "حاسوب إنترنت مدينة بيروت دمشق الرياض ـــ",
    "hebrew": "שָׁלוֹם עוֹלָם בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ "
    "יְרוּשָׁלַיִם תּוֹרָה סֵפֶר תּוֹדָה רַבָּה מַחְשֵׁב אוּנִיבֶרְסִיטָה תל אביב "
    "ישראל עברית שפה ילדים בית ספר",
    "vietnamese": "Tiếng Việt là ngôn ngữ chính thức của Việt Nam Hà Nội thành phố "
    "Hồ Chí Minh người dân đường phố phở bò cà phê sữa đá trường đại học "
    "nghiên cứu khoa học máy tính Nguyễn Trần Lê Phạm Huỳnh Đặng xin chào cảm ơn",
    "greek": "Καλημέρα κόσμε Ελλάδα Αθήνα Θεσσαλονίκη ελληνική γλώσσα φιλοσοφία "
    "Σωκράτης Πλάτων Αριστοτέλης δημοκρατία ευχαριστώ πολύ ΟΔΥΣΣΕΥΣ ΆΝΘΡΩΠΟΣ "
    "ΐ ΰ Ϊ Ϋ ἀρχή ἐν ᾠδή ὁδός Ἀθηναῖοι ΣΟΦΟΣ σοφός ς",
    "cyrillic": "Привет мир Россия Москва Санкт-Петербург русский язык университет "
    "ЁЛКА ёжик Україна Київ їжак ґанок Србија Београд ђак љубав њива џеп "
    "Македонија ѓавол ќерка Беларусь ўсход Қазақстан Өзбекстан Монгол",
    "korean": "안녕하세요 대한민국 서울 부산 한국어 한글 세종대왕 컴퓨터 과학 대학교 "
    "감사합니다 사랑해요 김치 불고기 비빔밥 학생 선생님 도서관 뷁 똠방각하 쀍",
    "japanese": "こんにちは 世界 日本語 東京 大阪 ひらがな カタカナ 漢字 ありがとう "
    "ございます コンピューター プログラミング 学校 先生 学生 食べる 飲みます "
    "ガッコウ ｶﾀｶﾅ ｳﾞｧｲｵﾘﾝ ヴァイオリン ぱぴぷぺぽ ㋿ 令和 ゟ ヿ",
    "chinese": "你好 世界 中华人民共和国 北京 上海 中文 汉字 學習 電腦 計算機 "
    "人工智能 机器学习 自然语言处理 謝謝 再见 朋友 龍 龘 𠀀 𪚥 㐀 兀 﨎 丽",
    "latin": "Café naïve résumé façade Straße Größe Übermut Ærøskøbing Łódź "
    "Kraków Žluťoučký kůň úpěl ďábelské ódy İstanbul ılık Şişli Ğ "
    "São Paulo coração Ñandú piñata Ångström ŒUVRE œuvre ĳssel Ĳ ﬁnance ﬂow "
    "Dvořák Smørrebrød Þórr ðæ ǅemal ǈ ǋ ſ ẞ ǰ ΐ ŉ",
    "english": "the quick brown fox jumps over the lazy dog embedding vector store "
    "retrieval augmented generation tokenizer wordpiece unaffable running "
    "don't can't it's U.S.A. e-mail well-known state-of-the-art hello world",
    "georgian": "საქართველო თბილისი ქართული ენა გამარჯობა მადლობა ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝ",
    "armenian": "Հայաստան Երևան հայերեն լեզու բարև շնորհակալություն ՀԱՅԵՐԵՆ և",
    "ethiopic": "ኢትዮጵያ አዲስ አበባ አማርኛ ሰላም አመሰግናለሁ ፩፪፫ ።",
    "khmer": "ភាសាខ្មែរ កម្ពុជា ភ្នំពេញ អរគុណ សួស្តី",
    "myanmar": "မြန်မာ ရန်ကုန် မင်္ဂလာပါ ကျေးဇူးတင်ပါတယ်",
    "sinhala": "ශ්‍රී ලංකාව කොළඹ සිංහල ආයුබෝවන් ස්තූතියි",
    "telugu": "తెలుగు హైదరాబాద్ నమస్కారం ధన్యవాదాలు",
    "kannada": "ಕನ್ನಡ ಬೆಂಗಳೂರು ನಮಸ್ಕಾರ ಧನ್ಯವಾದಗಳು",
    "malayalam": "മലയാളം കേരളം തിരുവനന്തപുരം നന്ദി ൻ ൽ",
    "gurmukhi": "ਪੰਜਾਬੀ ਅੰਮ੍ਰਿਤਸਰ ਸਤ ਸ੍ਰੀ ਅਕਾਲ ਧੰਨਵਾਦ",
    "tibetan": "བོད་ཡིག ལྷ་ས། བཀྲ་ཤིས་བདེ་ལེགས།",
    "lao": "ພາສາລາວ ວຽງຈັນ ສະບາຍດີ ຂອບໃຈ",
    "mongolian": "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ Улаанбаатар",
}

SCRIPT_KINDS = list(WORDS)

# Scripts written without spaces between words: sentences sometimes join words directly.
UNSPACED = {"thai", "japanese", "chinese", "khmer", "lao", "myanmar", "tibetan"}

PUNCTUATION = (
    list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + list("¡¿«»‹›“”‘’„‚…‰′″–—―‐‑·•§¶†‡※‼⁇⁈⁉")
    + list("。、「」『』【】〈〉《》〔〕・～！？，．：；（）［］｛｝")
    + list("،؛؟٪۔٭")  # Arabic
    + list("׃־׳״")  # Hebrew
    + list("।॥৷")  # Indic dandas
    + list("๏๚๛")  # Thai
    + list("·;΄΅")  # Greek ano teleia, question mark, tonos
    + list("።፣፤፥")  # Ethiopic
    + list("՝՞՛։")  # Armenian
    + list("༄༅།༎")  # Tibetan
    + list("⸮⸰⸱⸲⸻⹀⹂⹃⹄⹅⹋⹏⹒⹝")  # Supplemental punctuation, some of it recent
    + list("‿⁀⁔＿﹏")  # connector punctuation
    + list("$€£¥₹₩₽¢₿©®™°±×÷√∞≈≠≤≥∑∫^`¨¯´¸")  # symbols (not punctuation unless ASCII)
    + list("\U00011a3f\U00011a40\U0001e95e\U0001e95f\U000110bb\U000110bc\U00016af5\U0001da87")  # non-BMP P*
)

EMOJI = [
    "😀", "😂", "🥲", "🤌", "🫠", "🫶", "🧪", "🦀", "🐍", "🚀", "❤️", "❤", "✨", "🔥", "👍", "👍🏻", "👍🏽",
    "👍🏿", "👋🏾", "🧑‍💻", "👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨", "🏳️‍🌈", "🏴‍☠️", "❤️‍🔥", "🧔🏻‍♀️", "🇫🇷", "🇯🇵",
    "🇮🇳", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣", "#️⃣", "*️⃣", "©️", "™️", "☺", "☺️", "⌚", "♀", "♂️", "🀄", "🃏",
    "🅰️", "🆗", "🈁", "🈯", "㊗️", "🉐", "👁️‍🗨️", "🫥", "🪿", "🫎", "🩷", "🐦‍⬛", "🍋‍🟩", "🙂‍↕️",
]

COMBINING = [
    "\u0301", "\u0300", "\u0302", "\u0303", "\u0308", "\u030a", "\u030c", "\u0327", "\u0328",
    "\u0331", "\u0336", "\u0338", "\u034f", "\u035c", "\u0361", "\u0489", "\u20dd", "\u20e3",
    "\u1ab0", "\u1dc0", "\u1df9", "\ufe20", "\ufe0f", "\ufe0e", "\U000e0100", "\u0903", "\u093e",
    "\u094d", "\u0e31", "\u0e47", "\u05b0", "\u05bc", "\u064b", "\u0670", "\u0898", "\u3099",
    "\u309a", "\U0001d167", "\U0001e944", "\u0f71", "\u17b6", "\u1039",
]

CONTROLS = (
    [chr(c) for c in range(0x00, 0x20)]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [
        "\u00a0", "\u00ad", "\u034f", "\u061c", "\u0600", "\u06dd", "\u070f", "\u180e", "\u1680",
        "\u2000", "\u2001", "\u2002", "\u2003", "\u2007", "\u2009", "\u200a", "\u200b", "\u200c",
        "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a", "\u202e", "\u202f", "\u205f",
        "\u2060", "\u2061", "\u2066", "\u2069", "\u206f", "\u3000", "\ufeff", "\ufff9", "\ufffb",
        "\ufffc", "\ufffd", "\ufffe", "\uffff", "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd",
        "\U000e0001", "\U000e0020", "\U000e007f", "\U0001d173", "\U000110bd", "\U0001bca0",
        "\u0378", "\u0530", "\u2fff", "\U0001fb00", "\U000e0080", "\U0003134a", "\U00031350",
        "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85",
    ]
)

NUMBERS = [
    "0", "7", "42", "1999", "2024", "3.14159", "1,000,000", "10^6", "1e-9", "-273.15", "50%",
    "$19.99", "€5", "12:30", "2024-01-31", "+1-555-0100", "0x7FFF", "v1.2.3", "4th", "21st",
    "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "௧௨௩", "๑๒๓", "１２３",
    "¹²³", "₁₂₃", "½", "¾", "⅓", "Ⅻ", "ⅷ", "①②③", "⑴", "⒈", "𝟘𝟙𝟚", "𝟏𝟐", "〇", "一二三",
    "壹贰叁", "万", "億", "፲፳", "᠑᠒", "𒐫",
]

STYLED = [
    "𝐁𝐨𝐥𝐝", "𝑖𝑡𝑎𝑙𝑖𝑐", "𝔉𝔯𝔞𝔨𝔱𝔲𝔯", "𝕕𝕠𝕦𝕓𝕝𝕖", "ｆｕｌｌｗｉｄｔｈ", "Ｈｅｌｌｏ", "ℌℑℜ", "ℕℤℚℝ",
    "Ⓐⓑⓒ", "🅐🅑", "ᴀʙᴄ", "ᵃᵇᶜ", "ﬀ", "ﬃ", "ﬆ", "Ǆ", "ǆ", "ŉ", "Ω", "K", "Å", "ﹰ", "ﷺ", "ﷻ",
    "㍿", "㎏", "℃", "№", "℡", "Ⅸ", "ⓡ",
]


def pick_words(rng, kind, n):
    return [rng.choice(WORDS[kind].split()) for _ in range(n)]


def join(rng, kind, words):
    if kind in UNSPACED and rng.random() < 0.5:
        return "".join(words)
    return " ".join(words)


def sprinkle(rng, words, pool, rate):
    out = []
    for w in words:
        out.append(w)
        if rng.random() < rate:
            out.append(rng.choice(pool))
    return out


def script_sentence(rng, kind):
    words = pick_words(rng, kind, rng.randint(2, 14))
    r = rng.random()
    if r < 0.25:
        words = sprinkle(rng, words, PUNCTUATION, 0.3)
    elif r < 0.4:
        words = sprinkle(rng, words, NUMBERS, 0.3)
    elif r < 0.5:
        words = sprinkle(rng, words, WORDS["english"].split(), 0.4)
    elif r < 0.55:
        words = sprinkle(rng, words, EMOJI, 0.3)
    text = join(rng, kind, words)
    if rng.random() < 0.6:
        text += rng.choice([".", "!", "?", "।", "。", "؟", ";", "…", "", "!!", "?!"])
    if rng.random() < 0.2:
        text = text.upper()
    if rng.random() < 0.1:
        text = unicodedata.normalize(rng.choice(["NFC", "NFD", "NFKC", "NFKD"]), text)
    return text


def emoji_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(1, 8))
    words = sprinkle(rng, words, EMOJI, 0.6)
    if rng.random() < 0.3:
        words.append("".join(rng.choice(EMOJI) for _ in range(rng.randint(2, 6))))
    if rng.random() < 0.2:  # an emoji glued to a word
        words.append(rng.choice(WORDS["english"].split()) + rng.choice(EMOJI) + rng.choice(WORDS["latin"].split()))
    return " ".join(words)


def combining_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(2, 8))
    out = []
    for w in words:
        chars = list(w)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randint(0, len(chars))
            chars.insert(pos, "".join(rng.choice(COMBINING) for _ in range(rng.randint(1, 3))))
        out.append("".join(chars))
    if rng.random() < 0.3:  # marks with no base: after a space, at the start, after punctuation
        out.insert(0, rng.choice(COMBINING))
        out.append("!" + rng.choice(COMBINING) + rng.choice(COMBINING))
    if rng.random() < 0.2:  # zalgo
        out.append("".join(c + "".join(rng.choice(COMBINING[:20]) for _ in range(8)) for c in "zalgo"))
    return " ".join(out)


def control_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(2, 10))
    out = []
    for w in words:
        if rng.random() < 0.4 and len(w) > 1:
            pos = rng.randint(1, len(w) - 1)
            w = w[:pos] + rng.choice(CONTROLS) + w[pos:]
        out.append(w)
        out.append(rng.choice(CONTROLS + [" ", " ", "  "]))
    text = "".join(out)
    if rng.random() < 0.3:
        text = rng.choice(["\ufeff", "\x00", "\u200b", "\t", "\n"]) + text
    return text


def punctuation_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(1, 8))
    out = []
    for w in words:
        r = rng.random()
        if r < 0.3:
            w = rng.choice(PUNCTUATION) + w + rng.choice(PUNCTUATION)
        elif r < 0.5 and len(w) > 1:
            pos = rng.randint(1, len(w) - 1)
            w = w[:pos] + rng.choice(PUNCTUATION) + w[pos:]
        out.append(w)
        if rng.random() < 0.3:
            out.append("".join(rng.choice(PUNCTUATION) for _ in range(rng.randint(1, 5))))
    if rng.random() < 0.2:
        out.append(rng.choice(["https://example.com/a?b=c&d=e#f", "user@example.org", "C:\\Users\\x", "a_b-c.d", "<p>x</p>"]))
    return " ".join(out)


def long_word_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(1, 5))
    base = "".join(pick_words(rng, kind, rng.randint(3, 40)))
    r = rng.random()
    if r < 0.3:  # around the 100-character limit, counted in characters after normalization
        n = rng.choice([98, 99, 100, 101, 102])
        long_word = (rng.choice(["a", "é", "ab", "x", "ü", "ß", "ø", "𝔞", "क", "ก"]) * n)[:n]
        if rng.random() < 0.3:
            long_word = unicodedata.normalize("NFD", long_word)
    elif r < 0.5:
        long_word = "".join(rng.choice(WORDS["english"].split()).replace("'", "") for _ in range(rng.randint(15, 40)))
    else:
        long_word = base * rng.randint(1, 6)
    words.insert(rng.randint(0, len(words)), long_word)
    return join(rng, kind, words)


def number_sentence(rng):
    kind = rng.choice(SCRIPT_KINDS)
    words = pick_words(rng, kind, rng.randint(1, 6))
    words = sprinkle(rng, words, NUMBERS + STYLED, 0.8)
    return " ".join(words)


def mixed_sentence(rng):
    kinds = rng.sample(SCRIPT_KINDS, rng.randint(2, 5))
    words = []
    for k in kinds:
        words += pick_words(rng, k, rng.randint(1, 5))
    rng.shuffle(words)
    words = sprinkle(rng, words, PUNCTUATION + EMOJI + NUMBERS + STYLED, 0.2)
    if rng.random() < 0.3:  # words glued across scripts
        words = ["".join(words[i : i + 2]) for i in range(0, len(words), 2)]
    return " ".join(words)


def long_sentence(rng):
    """Over 256 tokens: the Swift test also checks truncation to the model's window."""
    kind = rng.choice(SCRIPT_KINDS)
    return join(rng, kind, pick_words(rng, kind, rng.randint(150, 400)))


def special_sentence(rng):
    """Hand-picked edge cases, each followed by random variations."""
    fixed = [
        "", " ", "\u00a0", "\ufeff", "\x00", "\ufffd", "\u200b\u200c\u200d", "\t\n\r", "[CLS]", "[SEP] [PAD]",
        "a[MASK]b", "[unk]", "[ CLS ]", "##ing", "##", "#", "a##b", "İ", "ẞ", "ß", "ﬃ", "Σ", "ΌΣΟΣ", "ǰ",
        "\u0130stanbul", "I\u0307", "Ǆemal", "ǅ", "ǲ", "ᾼ", "ᾈ", "ᾳ", "Ω", "K", "Å", "ℬ", "ﬀ",
        "\u1e9e", "\u0345", "\u0390", "\u1fd3", "\u0149", "\u01f0",
        "\u0958", "\u095f", "\u0929", "\u09dc", "\u0a33", "\u0b5c", "\ufb1d", "\ufb2a", "\ufb4e",
        "\uf900", "\uf902", "\ufa0e", "\ufa6d", "\U0002f800", "\U0002fa1d", "\u2f00", "\u2e80", "\u31c0",
        "\u3131", "\u1100\u1161\u11a8", "\uac00", "\ud7a3", "\uffa0", "\u3164", "\u115f", "\u1160",
        "\U00030000", "\U0003134a", "\U00031350", "\U0002ebe0", "\U0002ebf0", "\U0002f800",
    ]
    return fixed


GENERATORS = [
    ("emoji", emoji_sentence),
    ("combining", combining_sentence),
    ("control", control_sentence),
    ("punctuation", punctuation_sentence),
    ("longword", long_word_sentence),
    ("number", number_sentence),
    ("mixed", mixed_sentence),
]


def sentences():
    rng = random.Random(SEED)
    out = [("special", s) for s in special_sentence(rng)]
    for kind in SCRIPT_KINDS:
        count = PER_KIND if kind not in ("english",) else PER_KIND // 2
        if kind in ("georgian", "armenian", "ethiopic", "khmer", "myanmar", "sinhala", "telugu", "kannada",
                    "malayalam", "gurmukhi", "tibetan", "lao", "mongolian"):
            count = PER_KIND // 3
        out += [(kind, script_sentence(rng, kind)) for _ in range(count)]
    for kind, make in GENERATORS:
        out += [(kind, make(rng)) for _ in range(PER_KIND * 2)]
    out += [("long", long_sentence(rng)) for _ in range(30)]
    return out


def escape(line):
    """json.dumps keeps non-ASCII as UTF-8; non-printing characters become \\u escapes."""
    out = []
    for c in line:
        cat = unicodedata.category(c)
        if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (cat == "Zs" and c != " ") or c in "\ufffd\ufe0e\ufe0f":
            if ord(c) > 0xFFFF:
                v = ord(c) - 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
            else:
                out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def reference_tokenizer(vocab):
    """The pinned Hugging Face tokenizer on the checked vocab.txt."""
    import tokenizers
    from tokenizers import BertWordPieceTokenizer

    if tokenizers.__version__ != TOKENIZERS_VERSION:
        sys.exit(f"tokenizers {tokenizers.__version__} found, {TOKENIZERS_VERSION} required")
    with open(vocab, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != VOCAB_SHA256:
        sys.exit(f"{vocab} has sha256 {digest}, expected {VOCAB_SHA256}")
    # lowercase=True: BertNormalizer(clean_text, handle_chinese_chars, strip_accents following
    # lowercase, lowercase), BertPreTokenizer, WordPiece([UNK], max_input_chars_per_word=100),
    # [CLS] ... [SEP], and the special tokens matched in the raw text. No truncation.
    return BertWordPieceTokenizer(vocab, lowercase=True)


DEFAULT_VOCAB = os.path.expanduser("~/.cache/quiver/models/all-MiniLM-L6-v2/vocab.txt")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", default=DEFAULT_VOCAB)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument(
        "--out", default=os.path.join(here, "..", "..", "Tests", "IngestTests", "Fixtures", "wordpiece", "hf_ids.jsonl"))
    args = parser.parse_args()

    tok = reference_tokenizer(args.vocab)
    rows = sentences()
    encodings = tok.encode_batch([s for _, s in rows])
    kinds = sorted({k for k, _ in rows})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        header = {
            "generator": "tools/tokenizer/make_fixture.py",
            "tokenizers": TOKENIZERS_VERSION,
            "tokenizer": "BertWordPieceTokenizer(vocab.txt, lowercase=True), untruncated ids with [CLS]/[SEP]",
            "vocab_sha256": VOCAB_SHA256,
            "seed": SEED,
            "sentences": len(rows),
            "kinds": kinds,
        }
        f.write(json.dumps(header, ensure_ascii=False) + "\n")
        for i, ((kind, s), e) in enumerate(zip(rows, encodings)):
            row = json.dumps({"i": i, "k": kind, "s": s, "ids": e.ids}, ensure_ascii=False, separators=(",", ":"))
            f.write(escape(row) + "\n")
    print(f"make_fixture: {len(rows)} sentences, {len(kinds)} kinds -> {args.out}")


if __name__ == "__main__":
    main()
