"""Our own synthetic SNIPS-style intent + slot data, for demos and tests without downloads.

Templates and values are written here. To keep the task from being trivial, intents
share filler words, and some slot values appear under different slot types in different
intents ("friday" is a date for an alarm or the weather; a person's name is a contact or
an artist), so the tagger must use context.
"""

import os
import random
from pathlib import Path

from tfcompress.atomic_write import write_text_atomic
from tfcompress.data.task_data import IntentSlotData, value_tags

_PEOPLE = ["anna", "marco", "lisa ray", "sam", "john lee", "nina simone", "the kid laroi", "maria"]
_DAYS = [
    "today",
    "tomorrow",
    "friday",
    "next monday",
    "this weekend",
    "on saturday",
    "the day after tomorrow",
]
_TIMES = ["7 am", "six thirty", "noon", "9 pm", "half past eight", "midnight", "8 in the morning"]
_CITIES = ["paris", "new york", "san diego", "berlin", "cape town", "rio de janeiro", "oslo"]

SLOT_VALUES: dict[str, list[str]] = {
    "time": _TIMES,
    "date": _DAYS,
    "alarm_name": ["work", "gym", "school run", "take medicine", "wake up"],
    "artist": _PEOPLE + ["daft punk", "the beatles", "miles davis"],
    "song": ["blue in green", "get lucky", "feeling good", "yesterday", "stay", "so what"],
    "playlist": ["morning coffee", "road trip", "chill vibes", "workout mix", "sunday jazz"],
    "city": _CITIES,
    "condition": ["rain", "snow", "sunny", "windy", "cold", "a storm"],
    "restaurant": ["thai", "sushi", "italian", "vegan", "steak house", "pizza place"],
    "party_size": ["two", "four", "six people", "a party of eight", "three of us"],
    "contact": _PEOPLE + ["mom", "my brother", "the team"],
    "message": [
        "i am running late",
        "see you at noon",
        "call me back",
        "happy birthday",
        "the meeting moved to friday",
    ],
}

# "{x}" is a slot; "{pre}" and "{post}" are shared fillers, so filler words carry no intent signal.
TEMPLATES: dict[str, list[str]] = {
    "set_alarm": [
        "{pre} set an alarm for {time} {date} {post}",
        "{pre} wake me up at {time} {post}",
        "{pre} set a {alarm_name} alarm for {time} {post}",
        "{pre} remind me at {time} {date} to {alarm_name}",
        "{pre} i need an alarm {date} at {time} {post}",
    ],
    "play_music": [
        "{pre} play {song} by {artist} {post}",
        "{pre} play some {artist} {post}",
        "{pre} put on my {playlist} playlist {post}",
        "{pre} i want to hear {song} {post}",
        "{pre} add {song} to {playlist} {post}",
        "{pre} play the latest from {artist} {date} {post}",
    ],
    "get_weather": [
        "{pre} what is the weather in {city} {date} {post}",
        "{pre} will there be {condition} in {city} {date}",
        "{pre} is it going to be {condition} {date} {post}",
        "{pre} tell me the forecast for {city} at {time} {post}",
    ],
    "book_table": [
        "{pre} book a table for {party_size} at a {restaurant} restaurant {date} {post}",
        "{pre} i want to book a {restaurant} place in {city} for {party_size} {post}",
        "{pre} reserve a table at {time} {date} for {party_size}",
        "{pre} find me a {restaurant} restaurant in {city} {post}",
        "{pre} book {restaurant} for {time} {post}",
    ],
    "send_message": [
        "{pre} send a message to {contact} saying {message} {post}",
        "{pre} text {contact} {message} {post}",
        "{pre} tell {contact} that {message}",
        "{pre} message {contact} at {time} {post}",
        "{pre} i want to send {contact} a text {date} {post}",
    ],
}

_PRE = ["", "", "please", "hey", "can you", "could you please", "i want you to"]
_POST = ["", "", "please", "thanks", "now", "for me"]


def synthetic_label_names() -> dict[str, list[str]]:
    """Every intent and IOB tag the generator can emit (a small sample may miss some)."""
    slots = sorted(SLOT_VALUES)
    tags = ["O"] + [f"{prefix}-{slot}" for slot in slots for prefix in ("B", "I")]
    return {"intents": sorted(TEMPLATES), "tags": tags}


def generate_intent_slot_data(num_examples: int, seed: int = 0) -> IntentSlotData:
    """`num_examples` utterances with IOB tags; the same seed always gives the same data."""
    if num_examples < 0:
        raise ValueError(f"num_examples must be >= 0, got {num_examples}")
    rng = random.Random(seed)
    intents = sorted(TEMPLATES)
    data = IntentSlotData(words=[], tags=[], intents=[])
    for _ in range(num_examples):
        intent = rng.choice(intents)
        words, tags = _fill(rng.choice(TEMPLATES[intent]), rng)
        data.words.append(words)
        data.tags.append(tags)
        data.intents.append(intent)
    return data


def _fill(template: str, rng: random.Random) -> tuple[list[str], list[str]]:
    words, tags = [], []
    for part in template.split():
        if part in ("{pre}", "{post}"):
            filler = rng.choice(_PRE if part == "{pre}" else _POST).split()
            words += filler
            tags += ["O"] * len(filler)
        elif part.startswith("{"):
            slot = part[1:-1]
            value = rng.choice(SLOT_VALUES[slot]).split()
            words += value
            tags += value_tags(slot, len(value))
        else:
            words.append(part)
            tags.append("O")
    return words, tags


def write_intent_slot_dir(data: IntentSlotData, path: str | os.PathLike) -> None:
    """Write seq.in / seq.out / label (one example per line), each file atomically."""
    path = Path(path)
    write_text_atomic(path / "seq.in", "".join(" ".join(w) + "\n" for w in data.words))
    write_text_atomic(path / "seq.out", "".join(" ".join(t) + "\n" for t in data.tags))
    write_text_atomic(path / "label", "".join(i + "\n" for i in data.intents))
