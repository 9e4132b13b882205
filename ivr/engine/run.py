"""One step in progress: the flow, the session so far and the outputs so far.

A step makes several sessions (each is immutable) and collects outputs; this record carries
them between the functions of the step, and never outlives it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.engine import actions as act
from ivr.engine.events import FetchRequest, Output
from ivr.engine.phrases import ENGLISH, PHRASES, Phrase, phrase
from ivr.engine.session import Session, Step
from ivr.flow.model import AskState, FetchState, Flow, RecordState, State, Text
from ivr.flow.templates import render

DEFAULT_NO_INPUT = PHRASES["en"]["no_input"]
DEFAULT_NO_MATCH = PHRASES["en"]["no_match"]
GOODBYE = PHRASES["en"]["goodbye"]
APOLOGY = PHRASES["en"]["apology"]
_INPUT = {"keys": "dtmf", "speech": "speech", "both": "dtmf speech"}


@dataclass(slots=True)
class Run:
    flow: Flow
    session: Session
    now: dt.datetime
    out: list[Output] = field(default_factory=list)
    # The switches the flow reads, as they are now (and as this step turns them).
    switches: Mapping[str, bool] = field(default_factory=dict)

    @property
    def sms(self) -> bool:
        return self.session.channel == "sms"

    @property
    def language(self) -> str | None:
        """The conversation's language: the variable `language`, else the flow's first."""
        return self.session.vars.get("language") or self.flow.language

    def variables(self) -> dict[str, str]:
        if "language" in self.session.vars or not self.flow.language:
            return {**self.flow.vars, **self.session.vars}
        return {**self.flow.vars, "language": self.flow.language, **self.session.vars}

    def text(self, template: str) -> str:
        return render(template, self.variables())

    def log_path(self, state: str, event: str, answer: str | None = None) -> None:
        step = Step(self.now.timestamp(), state, answer, event)
        self.session = self.session.evolve(path=(*self.session.path, step))

    def end(self, outcome: str, hangup: bool = True) -> None:
        if hangup and not self.sms:
            self.out.append(act.Hangup())
        self.log_path(self.session.state, "end", outcome)
        self.session = self.session.evolve(ended=True, waiting="", outcome=outcome)

    def say(
        self, text: Text, voice: str | None = None, language: str | None = None, loop: int = 1
    ) -> act.Say:
        """`text` in the conversation's language, with the language and voice it is in."""
        return self._said(*text.pick(self.language), voice, language, loop)

    def _said(
        self, template: str, written: str | None, voice: str | None, language: str | None, loop: int
    ) -> act.Say:
        language = language or written or self.flow.language
        if voice is None:
            voice = self.flow.voices.get(language, self.flow.voice) if language else self.flow.voice
        return act.Say(self.text(template), voice, language, loop)

    def phrase(self, name: Phrase) -> act.Say:
        """What the engine says by itself, in the conversation's language."""
        words, language = phrase(name, self.language)
        if language == ENGLISH and language not in self.flow.voices:
            return act.Say(words, None, language)  # not read by another language's voice
        return self.say(Text(words, language))

    def prompts(self, state: State) -> tuple[act.Prompt, ...]:
        items: list[act.Prompt] = []
        for p in state.say:
            if p.kind == "say":
                if p.words is None:
                    items.append(self._said(p.text, None, p.voice, p.language, p.loop))
                else:
                    items.append(self.say(p.words, p.voice, p.language, p.loop))
            elif p.kind == "play":
                items.append(act.Play(p.text, p.loop))
            else:
                items.append(act.Pause(p.seconds))
        return tuple(items)

    def speak(self, prompts: tuple[act.Prompt, ...]) -> None:
        if not self.sms:
            self.out.extend(prompts)
            return
        # One text per state: the spoken parts joined; audio and pauses have no text form.
        text = " ".join(p.text for p in prompts if isinstance(p, act.Say) and p.text.strip())
        if text:
            self.out.append(act.Message(text))

    def wait(self, state: AskState, prompts: tuple[act.Prompt, ...]) -> None:
        seq = self.session.seq + 1
        self.session = self.session.evolve(waiting="answer", seq=seq)
        if self.sms:
            self.speak(prompts)
            return
        gather, spoken = state.gather, state.gather.listen != "keys"
        self.out.append(
            act.Gather(
                seq=seq,
                prompts=prompts,
                input=_INPUT[gather.listen],
                num_digits=gather.digits,
                timeout=gather.timeout,
                finish_on_key=gather.finish_on_key,
                hints=gather.hints if spoken else None,
                language=self.language if spoken else None,
            )
        )

    def start_record(self, state: RecordState) -> None:
        seq = self.session.seq + 1
        self.session = self.session.evolve(waiting="record", seq=seq)
        if self.sms:
            return
        r = state.record
        self.out.append(
            act.RecordAudio(seq, r.max_length, r.timeout, r.finish_on_key, r.beep, r.transcribe)
        )

    def start_fetch(self, state: FetchState) -> None:
        # The request is made outside the engine; its reply comes back as a `fetched` event.
        seq = self.session.seq + 1
        self.session = self.session.evolve(waiting="fetch", seq=seq)
        self.out.append(FetchRequest(state.name, seq, state.fetch, self.variables()))
