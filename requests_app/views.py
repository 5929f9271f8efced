from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("pages pending")


request_list = request_create = request_detail = request_act = request_attach = _todo
request_verify = attachment_download = extension_list = _todo
