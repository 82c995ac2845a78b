from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('usage', '0003_event_anonymous_id_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='InboxBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('source_id', models.BigIntegerField()),
                ('source_slug', models.CharField(max_length=60)),
                ('key_id', models.BigIntegerField()),
                ('endpoint', models.CharField(max_length=40)),
                ('received_at', models.DateTimeField()),
                ('message_count', models.IntegerField()),
                ('payload', models.BinaryField(help_text='zlib-compressed JSON: messages and rejections.')),
            ],
        ),
    ]
